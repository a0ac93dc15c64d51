import BulwarkContract
public import BulwarkEngine
public import BulwarkJSON
public import BulwarkPolicy

/// The JSON and text forms of analysis answers.
public enum AnalysisOutput {
    /// `{"result": "equivalent"|"different"|"unknown", "added": [...], "removed": [...], "undecided": [...]}`.
    public static func write(_ diff: AccessDifference, into json: inout JSONWriter) {
        json.beginObject()
        json.field("result", diff.verdict.rawValue)
        json.key("added")
        write(diff.added, into: &json)
        json.key("removed")
        write(diff.removed, into: &json)
        json.key("undecided")
        write(diff.undecided, into: &json)
        json.endObject()
    }

    public static func write(_ regions: [AccessRegion], into json: inout JSONWriter) {
        json.beginArray()
        for region in regions { write(region, into: &json) }
        json.endArray()
    }

    public static func write(_ region: AccessRegion, into json: inout JSONWriter) {
        json.beginObject()
        writeFields(region, into: &json)
        json.endObject()
    }

    /// The fields of a region, for callers that add their own.
    public static func writeFields(_ region: AccessRegion, into json: inout JSONWriter) {
        json.field("actions", region.actions)
        json.field("resource", region.resource)
        json.field("conditions", region.conditions)
        json.key("example")
        writeRequest(region.example, into: &json)
        json.key("grantedBy")
        json.beginArray()
        for s in region.grantedBy { AuthorizationOutput.write(s, into: &json) }
        json.endArray()
    }

    public static func write(_ undecided: [UndecidedAction], into json: inout JSONWriter) {
        json.beginArray()
        for u in undecided {
            json.beginObject()
            json.field("action", u.action)
            json.field("reason", u.reason)
            json.endObject()
        }
        json.endArray()
    }

    /// A request in the shape of the `authorize` contract's `request`.
    public static func writeRequest(_ request: AuthorizationRequest, into json: inout JSONWriter) {
        json.beginObject()
        json.field("action", request.action)
        json.field("resource", request.resource)
        json.key("context")
        AuthorizationOutput.writeContext(request.context, into: &json)
        json.endObject()
    }

    /// The diff for people: each region with its example and the statements granting it.
    public static func text(_ diff: AccessDifference, oldName: String, newName: String) -> String {
        var lines: [String] = []
        switch diff.verdict {
        case .equivalent: lines.append("equivalent: \(oldName) and \(newName) allow the same requests")
        case .different:
            lines.append(
                "different: \(newName) allows \(count(diff.added)) that \(oldName) does not; \(oldName) allows \(count(diff.removed)) that \(newName) does not"
            )
        case .unknown: lines.append("unknown: no difference found, but \(diff.undecided.count) action(s) could not be decided exactly")
        }
        if !diff.added.isEmpty {
            lines.append("")
            lines.append("+ allowed by \(newName) only:")
            lines += diff.added.flatMap { text($0, bullet: "+") }
        }
        if !diff.removed.isEmpty {
            lines.append("")
            lines.append("- allowed by \(oldName) only:")
            lines += diff.removed.flatMap { text($0, bullet: "-") }
        }
        lines += undecidedText(diff.undecided)
        return lines.joined(separator: "\n") + "\n"
    }

    static func count(_ regions: [AccessRegion]) -> String { regions.count == 1 ? "1 region" : "\(regions.count) regions" }

    public static func undecidedText(_ undecided: [UndecidedAction]) -> [String] {
        guard !undecided.isEmpty else { return [] }
        return ["", "? undecided:"] + undecided.map { "  ? \($0.action): \($0.reason)" }
    }

    /// One region as indented lines.
    public static func text(_ region: AccessRegion, bullet: String, showGrants: Bool = true) -> [String] {
        var lines = ["  \(bullet) " + region.actions.joined(separator: ", ")]
        lines.append("      resource: \(region.resource)")
        for c in region.conditions { lines.append("      condition: \(c)") }
        lines.append("      example: \(requestText(region.example))")
        if showGrants { for s in region.grantedBy { lines.append("      granted by: \(statementText(s))") } }
        return lines
    }

    public static func requestText(_ request: AuthorizationRequest) -> String {
        var text = "\(request.action) on \(request.resource)"
        let keys = request.context.keys
        if !keys.isEmpty {
            text +=
                " with "
                + keys.map { k in
                    let v = request.context[k]!
                    return "\(k)="
                        + (v.count == 1 ? JSONWriter.quoted(v[0].text) : "[" + v.map { JSONWriter.quoted($0.text) }.joined(separator: ", ") + "]")
                }.joined(separator: ", ")
        }
        return text
    }

    public static func statementText(_ s: DeterminingStatement) -> String {
        var text = (s.scpLevel.map { "SCP level \($0) policy " } ?? "policy ") + JSONWriter.quoted(s.policyID) + " statement \(s.statementIndex)"
        if let sid = s.sid { text += " " + JSONWriter.quoted(sid) }
        return text + " (\(s.effect.rawValue))"
    }
}
