import BulwarkContract
public import BulwarkEngine
import BulwarkJSON
public import BulwarkPolicy
import Foundation
import Synchronization

/// One decision, for the decision log and the metrics.
public struct DecisionRecord: Sendable {
    public let decisionID: String
    /// `authorize`, `authorize-api`, `simulate`.
    public let endpoint: String
    /// The stored principal the request was decided for; nil for inline policies.
    public let principal: String?
    public let request: AuthorizationRequest
    public let result: AuthorizationResult
    /// Identity policies of the stored principal with the version that decided.
    public let policyVersions: [(policy: String, version: String)]
    /// Store revision of the snapshot; nil for inline policies.
    public let revision: Int64?

    public init(
        decisionID: String, endpoint: String, principal: String?, request: AuthorizationRequest, result: AuthorizationResult,
        policyVersions: [(policy: String, version: String)], revision: Int64?
    ) {
        self.decisionID = decisionID
        self.endpoint = endpoint
        self.principal = principal
        self.request = request
        self.result = result
        self.policyVersions = policyVersions
        self.revision = revision
    }
}

/// The decision log: one JSON line per decision with the request, the decision, the
/// determining statements and the policy versions that decided. Lines are buffered and
/// written by `flush()` (the server calls it a few times a second and at shutdown).
public final class DecisionLog: Sendable {
    private let handle: FileHandle
    private let pending = Mutex<[UInt8]>([])
    private let failures = Atomic<Int>(0)
    /// Write at once instead of waiting for the next flush beyond this many buffered bytes.
    private static let flushThreshold = 1 << 20

    /// Appends to `path`, creating it (mode 0600); `-` is standard output.
    public init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        }
    }

    public func record(_ records: [DecisionRecord], time: String) {
        var json = JSONWriter(reservingCapacity: records.count * 256)
        for record in records {
            json.beginObject()
            json.field("time", time)
            json.field("decisionId", record.decisionID)
            json.field("endpoint", record.endpoint)
            json.field("principal", record.principal)
            json.field("action", record.request.action)
            json.field("resource", record.request.resource)
            json.key("context")
            AuthorizationOutput.writeContext(record.request.context, into: &json)
            AuthorizationOutput.writeFields(record.result, into: &json)
            json.key("policyVersions")
            json.beginObject()
            for (policy, version) in record.policyVersions { json.field(policy, version) }
            json.endObject()
            json.field("revision", record.revision.map { Int($0) })
            json.endObject()
            json.newline()
        }
        let size = pending.withLock { buffer in
            buffer.append(contentsOf: json.bytes)
            return buffer.count
        }
        if size > Self.flushThreshold { flush() }
    }

    /// Flushes every 200 ms until the task is cancelled, then once more.
    public func flushPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))  // cancelled: the loop ends and flushes
            flush()
        }
        flush()
    }

    public func flush() {
        let bytes = pending.withLock { buffer in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        guard !bytes.isEmpty else { return }
        do { try handle.write(contentsOf: bytes) } catch {
            // Lost audit lines are never silent: counted, and said on standard error (the first
            // failure and every 100th after it, so a full disk does not flood the terminal).
            let count = failures.wrappingAdd(1, ordering: .relaxed).newValue
            if count == 1 || count % 100 == 0 {
                FileHandle.standardError.write(Data("bulwark: cannot write the decision log (\(count) failed writes so far): \(error)\n".utf8))
            }
        }
    }

    /// Writes that failed since start (each loses the lines it held).
    public var failedWrites: Int { failures.load(ordering: .relaxed) }
}
