public import BulwarkJSON

/// The findings of one file.
public struct FileReport: Sendable {
    public let file: String
    public let findings: [Finding]
    public var summary: FindingSummary { FindingSummary(findings) }

    public init(file: String, findings: [Finding]) {
        self.file = file
        self.findings = findings
    }
}

/// Renders validation results as JSON (SPEC §6), text, or SARIF 2.1.0.
public enum ValidationReport {
    /// One file: `{"findings": [...], "summary": {...}}`; several: `[{"file", "findings", "summary"}, ...]`.
    public static func json(_ reports: [FileReport], asArray: Bool) -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 4096)
        if asArray { json.beginArray() }
        for report in reports {
            json.beginObject()
            if asArray { json.field("file", report.file) }
            json.key("findings")
            writeFindings(report.findings, into: &json)
            json.key("summary")
            writeSummary(report.summary, into: &json)
            json.endObject()
            if !asArray { break }
        }
        if asArray { json.endArray() }
        json.newline()
        return json.bytes
    }

    /// Writes `[{"severity", "code", "message", "path", "line", "column"}, ...]`.
    public static func writeFindings(_ findings: [Finding], into json: inout JSONWriter) {
        json.beginArray()
        for f in findings {
            json.beginObject()
            json.field("severity", f.severity.rawValue)
            json.field("code", f.code.rawValue)
            json.field("message", f.message)
            json.field("path", f.path.description)
            json.field("line", f.location.line)
            json.field("column", f.location.column)
            json.endObject()
        }
        json.endArray()
    }

    private static func writeSummary(_ s: FindingSummary, into json: inout JSONWriter) {
        json.beginObject()
        json.field("error", s.errors)
        json.field("security_warning", s.securityWarnings)
        json.field("warning", s.warnings)
        json.field("suggestion", s.suggestions)
        json.endObject()
    }

    /// `FILE:LINE:COLUMN: severity CODE: message [path]`, then a summary line.
    public static func text(_ reports: [FileReport]) -> String {
        var lines: [String] = []
        var total = FindingSummary([])
        for report in reports {
            for f in report.findings {
                lines.append(
                    "\(report.file):\(f.location.line):\(f.location.column): \(f.severity.rawValue) \(f.code.rawValue): \(f.message) [\(f.path)]")
            }
            total = total + report.summary
        }
        let files = reports.count == 1 ? "1 file" : "\(reports.count) files"
        lines.append(
            "\(files): \(total.errors) errors, \(total.securityWarnings) security warnings, \(total.warnings) warnings, \(total.suggestions) suggestions"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    /// A SARIF 2.1.0 log: one run, one rule per code, results with physical locations.
    public static func sarif(_ reports: [FileReport], toolVersion: String) -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 8192)
        json.beginObject()
        json.field("$schema", "https://json.schemastore.org/sarif-2.1.0.json")
        json.field("version", "2.1.0")
        json.key("runs")
        json.beginArray()
        json.beginObject()
        json.key("tool")
        json.beginObject()
        json.key("driver")
        json.beginObject()
        json.field("name", "bulwark")
        json.field("version", toolVersion)
        json.key("rules")
        json.beginArray()
        for code in FindingCode.allCases {
            json.beginObject()
            json.field("id", code.rawValue)
            json.key("shortDescription")
            json.beginObject()
            json.field("text", code.summary)
            json.endObject()
            json.key("defaultConfiguration")
            json.beginObject()
            json.field("level", level(code.severity))
            json.endObject()
            json.key("properties")
            json.beginObject()
            json.field("severity", code.severity.rawValue)
            json.endObject()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.endObject()
        json.key("results")
        json.beginArray()
        let ruleIndex = Dictionary(uniqueKeysWithValues: FindingCode.allCases.enumerated().map { ($1, $0) })
        for report in reports {
            for f in report.findings {
                json.beginObject()
                json.field("ruleId", f.code.rawValue)
                json.field("ruleIndex", ruleIndex[f.code]!)
                json.field("level", level(f.severity))
                json.key("message")
                json.beginObject()
                json.field("text", "\(f.message) [\(f.path)]")
                json.endObject()
                json.key("locations")
                json.beginArray()
                json.beginObject()
                json.key("physicalLocation")
                json.beginObject()
                json.key("artifactLocation")
                json.beginObject()
                json.field("uri", report.file)
                json.endObject()
                json.key("region")
                json.beginObject()
                json.field("startLine", f.location.line)
                json.field("startColumn", f.location.column)
                json.endObject()
                json.endObject()
                json.key("logicalLocations")
                json.beginArray()
                json.beginObject()
                json.field("fullyQualifiedName", f.path.description)
                json.endObject()
                json.endArray()
                json.endObject()
                json.endArray()
                json.endObject()
            }
        }
        json.endArray()
        json.key("columnKind")
        json.string("unicodeCodePoints")
        json.endObject()
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    /// SARIF levels: errors are `error`, security warnings and warnings `warning`, suggestions `note`.
    static func level(_ severity: Severity) -> String {
        switch severity {
        case .error: "error"
        case .securityWarning, .warning: "warning"
        case .suggestion: "note"
        }
    }
}
