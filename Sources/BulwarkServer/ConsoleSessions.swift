import BulwarkEnforcement
import BulwarkJSON
import BulwarkRuntime
import Foundation
import HTTPTypes
import Synchronization

/// The web console's sign-ins (issue 22): a session is made only by the admin token, lives in
/// memory (a restart signs everyone out), ends after `idleLimit` without use, and carries the
/// CSRF token every write made with it must send back in `X-CSRF-Token`.
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        let csrf: String
        var lastUsed: ContinuousClock.Instant
    }

    static let cookieName = "bulwark_session"
    /// Sessions kept at once; past it the least recently used one ends (memory stays bounded).
    static let maxSessions = 1_000
    let idleLimit: Duration
    private let sessions = Mutex<[String: Session]>([:])
    /// Failed sign-ins allowed per minute, from everyone together; past it every sign-in is
    /// refused until the minute is over, so a token cannot be guessed by trying in parallel.
    let failuresPerMinute: Int
    private let failures = Mutex<[ContinuousClock.Instant]>([])

    init(idleLimit: Duration = .seconds(8 * 3600), failuresPerMinute: Int = 20) {
        self.idleLimit = idleLimit
        self.failuresPerMinute = failuresPerMinute
    }

    /// Whether sign-in is open: fewer than `failuresPerMinute` failures in the last minute.
    func signInOpen() -> Bool {
        let now = ContinuousClock.now
        return failures.withLock { failures in
            failures.removeAll { now - $0 >= .seconds(60) }
            return failures.count < failuresPerMinute
        }
    }

    func recordFailure() { failures.withLock { $0.append(ContinuousClock.now) } }

    /// A new session: its id (the cookie's value) and its CSRF token, both 256 random bits.
    func create() -> (id: String, csrf: String) {
        let id = Self.randomToken()
        let csrf = Self.randomToken()
        let now = ContinuousClock.now
        sessions.withLock { sessions in
            sessions = sessions.filter { now - $0.value.lastUsed < idleLimit }
            if sessions.count >= Self.maxSessions, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = Session(csrf: csrf, lastUsed: now)
        }
        return (id, csrf)
    }

    /// The live session of this id, its idle time restarted; nil when unknown or expired.
    func session(_ id: String) -> Session? {
        let now = ContinuousClock.now
        return sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard now - session.lastUsed < idleLimit else {
                sessions[id] = nil
                return nil
            }
            session.lastUsed = now
            sessions[id] = session
            return session
        }
    }

    func end(_ id: String) { sessions.withLock { $0[id] = nil } }

    /// The session a request's cookie names, if any.
    func session(of headers: HTTPFields) -> (id: String, session: Session)? {
        guard let id = Self.cookie(Self.cookieName, in: headers), let session = session(id) else { return nil }
        return (id, session)
    }

    /// Whether a write made with `session` carries its CSRF token (compared in constant time).
    static func csrfMatches(_ session: Session, _ headers: HTTPFields) -> Bool {
        guard let sent = headers[HTTPField.Name("X-CSRF-Token")!] else { return false }
        return ConstantTime.equal(Array(sent.utf8), Array(session.csrf.utf8))
    }

    /// The value of a cookie, from every `Cookie` header; nil when absent or given twice
    /// (two values for the session cookie are refused rather than guessed between).
    static func cookie(_ name: String, in headers: HTTPFields) -> String? {
        var found: [String] = []
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == name { found.append(parts[1]) }
            }
        }
        return found.count == 1 ? found[0] : nil
    }

    /// `Set-Cookie` for a session: HttpOnly (scripts never see it), SameSite=Strict (no other
    /// site's page sends it), Secure when the server speaks TLS.
    static func setCookie(_ id: String, secure: Bool, maxAge: Int) -> String {
        "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)\(secure ? "; Secure" : "")"
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The last decisions the server made, for the console's live view: a ring of `capacity`
/// records, newest first when read (the decision log on disk keeps them all).
final class RecentDecisions: Sendable {
    struct Entry: Sendable {
        let time: String
        let record: DecisionRecordSummary
    }

    let capacity: Int
    private let ring = Mutex<(entries: [Entry], next: Int)>(([], 0))

    init(capacity: Int = 1_000) { self.capacity = capacity }

    func append(_ records: [DecisionRecord], time: String) {
        ring.withLock { ring in
            for full in records {
                // Excerpts: a request's text is the caller's, and the ring must stay small whatever they send.
                let record = DecisionRecordSummary(
                    decisionID: full.decisionID, endpoint: full.endpoint, principal: full.principal.map { Excerpt.of($0, limit: 300) },
                    action: Excerpt.of(full.request.action, limit: 300), resource: Excerpt.of(full.request.resource, limit: 300),
                    decision: full.result.decision.rawValue, reason: full.result.reason.rawValue)
                let entry = Entry(time: time, record: record)
                if ring.entries.count < capacity {
                    ring.entries.append(entry)
                } else {
                    ring.entries[ring.next] = entry
                }
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// Newest first.
    func all() -> [Entry] {
        ring.withLock { ring in
            guard ring.entries.count == capacity else { return ring.entries.reversed() }
            return Array((ring.entries[ring.next...] + ring.entries[..<ring.next]).reversed())
        }
    }
}

/// What the console shows of a decision.
struct DecisionRecordSummary: Sendable {
    let decisionID: String
    let endpoint: String
    let principal: String?
    let action: String
    let resource: String
    let decision: String
    let reason: String
}
