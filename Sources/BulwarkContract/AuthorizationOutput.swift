public import BulwarkEngine
public import BulwarkJSON
public import BulwarkPolicy
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Renders decisions in the formats of SPEC §3: JSON for programs, text for people.
public enum AuthorizationOutput {
    /// Writes one result object: `{"decision", "reason", ["scpLevel"], "matched", ["explanation"]}`.
    public static func write(
        _ result: AuthorizationResult, explanation: [StatementExplanation]?, into json: inout JSONWriter
    ) {
        json.beginObject()
        writeFields(result, into: &json)
        if let explanation { writeExplanation(explanation, into: &json) }
        json.endObject()
    }

    /// Writes the field `"explanation": [{statement fields, "matched", ["failure"]}, ...]` into an open object.
    public static func writeExplanation(_ explanation: [StatementExplanation], into json: inout JSONWriter) {
        json.key("explanation")
        json.beginArray()
        for entry in explanation {
            json.beginObject()
            writeFields(entry.statement, into: &json)
            json.field("matched", entry.matched)
            if let failure = entry.failure {
                json.key("failure")
                json.beginObject()
                json.field("path", failure.span.path.description)
                json.field("line", failure.span.location.line)
                json.field("column", failure.span.location.column)
                json.field("reason", failure.reason)
                json.endObject()
            }
            if !entry.variables.isEmpty {
                json.key("variables")
                json.beginArray()
                for use in entry.variables {
                    json.beginObject()
                    json.field("path", use.span.path.description)
                    json.field("line", use.span.location.line)
                    json.field("column", use.span.location.column)
                    json.field("written", use.written)
                    if let value = use.value { json.field("value", value) }
                    if let unresolved = use.unresolved { json.field("unresolved", unresolved.written) }
                    json.endObject()
                }
                json.endArray()
            }
            json.endObject()
        }
        json.endArray()
    }

    /// Writes a request context as `{"key": "value" | ["v1", "v2"], ...}`, keys sorted.
    public static func writeContext(_ context: RequestContext, into json: inout JSONWriter) {
        json.beginObject()
        for key in context.keys {
            let values = context[key] ?? []
            json.key(key)
            if values.count == 1 {
                json.string(values[0].text)
            } else {
                json.beginArray()
                for v in values { json.string(v.text) }
                json.endArray()
            }
        }
        json.endObject()
    }

    /// A rendered JSON object with `fields` written first: `{FIELDS, ...the object's own}`.
    public static func prefixing(_ object: [UInt8], with fields: (inout JSONWriter) -> Void) -> [UInt8] {
        guard object.first == UInt8(ascii: "{") else { return object }
        var json = JSONWriter()
        json.beginObject()
        fields(&json)
        var out = json.bytes
        // The object's own members follow after a comma, unless it has none.
        let rest = object.dropFirst()
        if rest.first != UInt8(ascii: "}") && out.count > 1 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: rest)
        return out
    }

    /// Writes the fields `"decision", "reason", ["scpLevel"], "matched"` into an open object.
    public static func writeFields(_ result: AuthorizationResult, into json: inout JSONWriter) {
        json.field("decision", result.decision.rawValue)
        json.field("reason", result.reason.rawValue)
        if let level = result.scpLevel { json.field("scpLevel", level) }
        json.key("matched")
        json.beginArray()
        for statement in result.matched { write(statement, into: &json) }
        json.endArray()
    }

    /// Writes `{"policy", "statement", "sid", "effect", "scpLevel"}`.
    public static func write(_ statement: DeterminingStatement, into json: inout JSONWriter) {
        json.beginObject()
        writeFields(statement, into: &json)
        json.endObject()
    }

    private static func writeFields(_ statement: DeterminingStatement, into json: inout JSONWriter) {
        json.field("policy", statement.policyID)
        json.field("statement", statement.statementIndex)
        json.field("sid", statement.sid)
        json.field("effect", statement.effect.rawValue)
        json.field("scpLevel", statement.scpLevel)
    }

    /// A person-readable account of one decision.
    public static func text(
        _ result: AuthorizationResult, request: AuthorizationRequest, explanation: [StatementExplanation]?
    ) -> String {
        var lines: [String] = []
        lines.append("\(result.decision.rawValue.uppercased()) (\(result.reason.rawValue))")
        lines.append("  request: \(request.action) on \(request.resource)")
        switch result.reason {
        case .scpNoAllow:
            lines.append("  no statement of SCP level \(result.scpLevel ?? 0) allows it")
        case .noIdentityAllow:
            lines.append("  no identity policy allows it")
        case .sessionNoAllow:
            lines.append("  no session policy allows it")
        case .trustDenied:
            lines.append("  a Deny of the agency's trust policy matched")
        case .notTrusted:
            lines.append("  no Allow of the agency's trust policy matches the caller")
        case .assumeDenied:
            lines.append("  the agency could not be assumed")
        case .explicitDeny, .allowed:
            for s in result.matched {
                lines.append("  determined by \(name(s))")
            }
        }
        if let explanation {
            lines.append("  statements:")
            for entry in explanation {
                if let failure = entry.failure {
                    lines.append(
                        "    failed   \(name(entry.statement)): \(failure.span.path) (\(failure.span.location)): \(failure.reason)")
                } else {
                    lines.append("    matched  \(name(entry.statement))")
                }
                for use in entry.variables {
                    let result = use.value.map { "→ \(JSONWriter.quoted($0))" } ?? "→ \(use.unresolved!.written) does not resolve"
                    lines.append("             variable \(use.span.path): \(JSONWriter.quoted(use.written)) \(result)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// e.g. `SCP level 1 policy "deny-share" statement 0 (Deny)`.
    static func name(_ s: DeterminingStatement) -> String {
        let owner = s.scpLevel.map { "SCP level \($0) policy" } ?? (s.isSessionPolicy ? "session policy" : "identity policy")
        let sid = s.sid.map { " \(JSONWriter.quoted($0))" } ?? ""
        return "\(owner) \(JSONWriter.quoted(s.policyID)) statement \(s.statementIndex)\(sid) (\(s.effect.rawValue))"
    }
}

/// Decides many requests on all cores, handing results back in input order, chunk by chunk.
public enum BatchEvaluation {
    /// Requests per chunk: large enough to amortize thread hand-offs, small enough to stream.
    public static let chunkSize = 16_384

    /// Calls `emit` with each chunk's results in order. `render` turns one result into bytes.
    public static func run(
        _ requests: [AuthorizationRequest], authorizer: Authorizer, explain: Bool,
        render: @Sendable (AuthorizationRequest, AuthorizationResult, [StatementExplanation]?, inout [UInt8]) -> Void,
        emit: ([UInt8]) -> Void
    ) {
        let workers = max(1, System.coreCount)
        var start = 0
        while start < requests.count {
            let end = min(requests.count, start + chunkSize)
            let slices = min(workers, end - start)
            let outputs = Mutex<[[UInt8]]>(Array(repeating: [], count: slices))
            let base = start
            let per = (end - start + slices - 1) / slices
            DispatchQueue.concurrentPerform(iterations: slices) { s in
                let lo = base + s * per
                let hi = min(end, lo + per)
                var bytes: [UInt8] = []
                bytes.reserveCapacity((hi - lo) * 96)
                if lo < hi {
                    for i in lo..<hi {
                        let request = requests[i]
                        let result = authorizer.authorize(request)
                        render(request, result, explain ? authorizer.explain(request) : nil, &bytes)
                    }
                }
                outputs.withLock { $0[s] = bytes }
            }
            for chunk in outputs.withLock({ $0 }) { emit(chunk) }
            start = end
        }
    }
}

/// How many cores batch evaluation spreads over.
enum System {
    static var coreCount: Int {
        #if canImport(Glibc)
            return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
            return 2
        #endif
    }
}
