import ArgumentParser
import BulwarkCatalog
import BulwarkEngine
import BulwarkJSON
import BulwarkTraces
import BulwarkWorkspace
import Foundation

/// Exit codes of the trace commands, beyond the usual (README, docs/traces.md).
extension ExitCode {
    /// `replay`: no decision changed (or every trace was decided), but some traces could not be
    /// decided (listed as unmapped): the answer covers less than the history given.
    static let incomplete: Int32 = 3
}

/// Reads every trace of the files given, in order; what cannot be read is reported on standard
/// error and counted, never skipped silently. Progress goes to standard error.
struct TraceInput {
    let files: [String]
    let command: String
    /// Traces read (good or not).
    private(set) var total = 0
    /// Traces that could not be read or decided: (trace id, or where it is when it has none; why),
    /// in file order.
    var unmapped: [(traceID: String, reason: String)] {
        unmappedEntries.enumerated().sorted { ($0.element.ordinal, $0.offset) < ($1.element.ordinal, $1.offset) }.map {
            ($0.element.traceID, $0.element.reason)
        }
    }
    /// Whether any trace could not be read or decided (without sorting them into file order).
    var hasUnmapped: Bool { !unmappedEntries.isEmpty }
    /// With the trace's place in the input (traces are read in batches, decided after).
    private var unmappedEntries: [(ordinal: Int, traceID: String, reason: String)] = []
    /// A file stopped being readable at some point: the rest of it was not read.
    private(set) var brokenFiles = 0

    init(files: [String], command: String) {
        self.files = files
        self.command = command
    }

    /// Calls `each` with every trace read, in file order; problems go to `unmapped`.
    mutating func forEach(_ each: (TraceInput.Read, inout TraceInput) -> Void) {
        forEachBatch { batch, input in
            for trace in batch { each(trace, &input) }
        }
    }

    /// A trace read, with its place among every trace read (for `unmap`) and in its file.
    struct Read: Sendable {
        let ordinal: Int
        let trace: CTSTrace
        let file: String
        let text: TraceText

        /// `FILE:LINE:COL: PATH`, for a message about the trace.
        var place: String { "\(file):\(text.place(of: trace))" }
    }

    /// Calls `each` with batches of the traces read, in file order; each batch is read from
    /// its text on every core. Problems go to `unmapped`, reported as they are met.
    mutating func forEachBatch(_ each: ([Read], inout TraceInput) -> Void) {
        let workers = OnEveryCore.workers()
        for file in files {
            var pending: [TraceText] = []
            var failure: TraceFileError?
            do {
                try TraceFiles.texts(file) { texts in
                    pending += texts
                    if pending.count >= Self.batchSize {
                        deliver(pending, of: file, workers: workers, to: each)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            } catch { failure = error }
            // What was read before a break is used all the same.
            deliver(pending, of: file, workers: workers, to: each)
            if let failure {
                brokenFiles += 1
                Console.error("\(file):\(failure.location.line):\(failure.location.column): \(failure.message); the rest of the file is not read")
            }
        }
    }

    static let batchSize = 4096

    private mutating func deliver(_ texts: [TraceText], of file: String, workers: Int, to each: ([Read], inout TraceInput) -> Void) {
        guard !texts.isEmpty else { return }
        var batch: [Read] = []
        batch.reserveCapacity(texts.count)
        for (text, results) in zip(texts, OnEveryCore.map(texts, workers: workers, { _, text in CTSTrace.read(text) })) {
            for result in results {
                total += 1
                if total % 250_000 == 0 { Console.error("\(command): \(total) traces read") }
                switch result {
                case .success(let trace): batch.append(Read(ordinal: total, trace: trace, file: file, text: text))
                case .failure(let problem):
                    let place = "\(file):\(problem.location.line):\(problem.location.column)"
                    Console.error("\(place): \(problem.path): \(problem.message)")
                    unmappedEntries.append((total, problem.traceID ?? place, "\(place): \(problem.path): \(problem.message)"))
                }
            }
        }
        each(batch, &self)
    }

    /// `"unmapped": [{"traceId", "reason"}]`, as `replay` and `unused` print it.
    static func write(unmapped: [(traceID: String, reason: String)], into json: inout JSONWriter) {
        json.key("unmapped")
        json.beginArray()
        for item in unmapped {
            json.beginObject()
            json.field("traceId", item.traceID)
            json.field("reason", item.reason)
            json.endObject()
        }
        json.endArray()
    }

    /// A trace read that cannot be decided: listed with where it is and why.
    mutating func unmap(_ read: Read, _ reason: String) { unmappedEntries.append((read.ordinal, read.trace.traceID, "\(read.place): \(reason)")) }
}

/// `bulwark replay`: every traced call decided under a workspace, or what a change would change.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Decide every call of CTS traces under a workspace; with --against, list the calls whose decision would change.",
        discussion: """
            Trace files: an array of traces, one trace, JSON lines, or a ListTraces answer; gzip'd or not. \
            Exit codes: 0 every trace decided (and, with --against, no decision changes); 1 with --against, some \
            decision changes; 2 invalid input (a workspace, a catalog, or a trace file that cannot be read on); \
            3 no decision changes, but some traces could not be decided (listed as unmapped).
            """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "CTS trace files (repeatable; - for stdin).") var traces: [String]
    @Option(name: .long, help: "The workspace the traces are decided under.") var workspace: String
    @Option(name: .long, help: "A changed workspace: list the calls it would decide differently.") var against: String?
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let catalog = try catalogs.load(workspaces: [workspace] + (against.map { [$0] } ?? []))
        let before = TraceReplayer(workspace: try loadWorkspace(workspace, catalog: catalog), catalog: catalog)
        let after = try against.map { TraceReplayer(workspace: try loadWorkspace($0, catalog: catalog), catalog: catalog) }
        var input = TraceInput(files: traces, command: "replay")
        var output = ReplayOutput(format: format, comparing: after != nil)
        var changes: [(before: TraceDecision, after: TraceDecision)] = []
        // Each worker decides with replayers of its own (each keeps its principals' authorizers).
        let workers = OnEveryCore.workers()
        let replayers = WorkerState({ (before: before, after: after) }, workers: workers)
        input.forEachBatch { batch, input in
            let outcomes = OnEveryCore.map(batch, workers: workers) { worker, read in
                replayers.withState(worker) { pair in (pair.before.decide(read.trace), pair.after?.decide(read.trace)) }
            }
            for (read, (first, second)) in zip(batch, outcomes) {
                switch first {
                case .unmapped(_, let reason): input.unmap(read, reason)
                case .decided(let decision):
                    switch second {
                    case nil: output.result(decision)
                    case .unmapped(_, let reason)?: input.unmap(read, "under \(against!): \(reason)")
                    case .decided(let changed)?:
                        if changed.decision != decision.decision { changes.append((decision, changed)) }
                    }
                }
            }
        }
        // Newly denied first, then grouped by principal and action (file order within).
        let order = changes.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            let keyX = (x.after.decision == .deny ? 0 : 1, x.after.principal, x.after.action.lowercased())
            let keyY = (y.after.decision == .deny ? 0 : 1, y.after.principal, y.after.action.lowercased())
            return keyX != keyY ? keyX < keyY : a.offset < b.offset
        }.map(\.element)
        output.finish(total: input.total, unmapped: input.unmapped, changes: order)
        if input.brokenFiles > 0 { throw CLIError(message: "", exitCode: ExitCode.invalidInput) }
        if !order.isEmpty { throw CLIError(message: "", exitCode: ExitCode.failure) }
        if input.hasUnmapped { throw CLIError(message: "", exitCode: ExitCode.incomplete) }
    }
}

/// `replay`'s output: results streamed as they are decided (a million traces are not held),
/// then the unmapped traces and the total; with `--against`, the changes at the end.
struct ReplayOutput {
    let format: OutputFormat
    let comparing: Bool
    private var json = JSONWriter(reservingCapacity: 1 << 20)
    private var text: [UInt8] = []
    private var counts: [Decision: Int] = [:]

    init(format: OutputFormat, comparing: Bool) {
        self.format = format
        self.comparing = comparing
        if format == .json {
            json.beginObject()
            json.key(comparing ? "changes" : "results")
            json.beginArray()
        }
    }

    mutating func result(_ decision: TraceDecision) {
        counts[decision.decision, default: 0] += 1
        switch format {
        case .json:
            json.beginObject()
            json.field("traceId", decision.traceID)
            json.field("principal", decision.principal)
            json.field("action", decision.action)
            json.field("resource", decision.resource)
            json.field("decision", decision.decision.rawValue)
            json.field("reason", decision.result.reason.rawValue)
            json.endObject()
            if json.bytes.count > 1 << 20 { flushJSON() }
        case .text:
            text += Array(
                "\(decision.decision == .allow ? "ALLOW" : "DENY ") \(decision.traceID) \(decision.principal) \(decision.action) \(decision.resource) (\(Self.because(decision.result)))\n"
                    .utf8)
            if text.count > 1 << 20 {
                Console.write(text)
                text.removeAll(keepingCapacity: true)
            }
        }
    }

    private mutating func flushJSON() {
        Console.write(json.bytes)
        json.bytes.removeAll(keepingCapacity: true)
    }

    mutating func finish(total: Int, unmapped: [(traceID: String, reason: String)], changes: [(before: TraceDecision, after: TraceDecision)]) {
        switch format {
        case .json:
            for change in changes {
                json.beginObject()
                json.field("traceId", change.after.traceID)
                json.field("principal", change.after.principal)
                json.field("action", change.after.action)
                json.field("resource", change.after.resource)
                for (name, side) in [("before", change.before), ("after", change.after)] {
                    json.key(name)
                    json.beginObject()
                    json.field("decision", side.decision.rawValue)
                    json.field("reason", side.result.reason.rawValue)
                    json.endObject()
                }
                json.endObject()
            }
            json.endArray()
            TraceInput.write(unmapped: unmapped, into: &json)
            json.field("total", total)
            json.endObject()
            json.newline()
            flushJSON()
        case .text:
            if comparing {
                let denied = changes.filter { $0.after.decision == .deny }
                var lines: [String] = []
                for (title, group) in [("newly denied", denied), ("newly allowed", changes.filter { $0.after.decision == .allow })]
                where !group.isEmpty {
                    lines.append("\(title) (\(group.count) call\(group.count == 1 ? "" : "s")):")
                    var i = 0
                    while i < group.count {
                        // One line per principal and action, with its calls.
                        var j = i
                        while j < group.count && group[j].after.principal == group[i].after.principal
                            && group[j].after.action.lowercased() == group[i].after.action.lowercased()
                        {
                            j += 1
                        }
                        let first = group[i].after
                        lines.append(
                            "  \(first.principal) \(first.action): \(Self.because(first.result)), was \(Self.because(group[i].before.result))")
                        lines.append("    traces: " + group[i..<j].map(\.after.traceID).joined(separator: ", "))
                        i = j
                    }
                }
                if changes.isEmpty { lines.append("no decision changes") }
                text += Array((lines.joined(separator: "\n") + "\n").utf8)
            }
            for item in unmapped { text += Array("unmapped \(item.traceID): \(item.reason)\n".utf8) }
            let decided = comparing ? total - unmapped.count : counts.values.reduce(0, +)
            var summary = "\(total) trace\(total == 1 ? "" : "s"): \(decided) decided"
            if !comparing { summary += " (\(counts[.allow] ?? 0) allowed, \(counts[.deny] ?? 0) denied)" }
            summary += ", \(unmapped.count) unmapped" + (comparing ? ", \(changes.count) decision change\(changes.count == 1 ? "" : "s")" : "")
            text += Array((summary + "\n").utf8)
            Console.write(text)
        }
    }

    /// `explicit_deny by scp-deny#0 (DenyIMS)`: the reason and the statements that decided.
    static func because(_ result: AuthorizationResult) -> String {
        let statements = result.matched.map { "\($0.policyID)#\($0.statementIndex)\($0.sid.map { " (\($0))" } ?? "")" }
        return result.reason.rawValue + (statements.isEmpty ? "" : " by " + statements.joined(separator: ", "))
    }
}

/// `bulwark unused`: per principal, granted actions no traced call used.
struct UnusedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unused",
        abstract: "Per principal of a workspace, the actions its policies grant that no successful traced call used.",
        discussion: """
            Only traces with a 2xx/3xx code count as use, and with --since only those at or after DATE \
            (YYYY-MM-DD or an ISO 8601 time, UTC); sessions count under their agency. Exit codes: 0 listed, \
            2 invalid input (a workspace, a catalog, or a trace file that cannot be read on), 3 listed, but some \
            traces could not be mapped (they are listed; their use is not counted).
            """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "CTS trace files (repeatable; - for stdin).") var traces: [String]
    @Option(name: .long, help: "The workspace directory.") var workspace: String
    @Option(name: .long, help: "Only traces at or after this date (YYYY-MM-DD or ISO 8601, UTC).") var since: String?
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let start: Int64? = try since.map { text throws(CLIError) in
            guard let ms = Self.milliseconds(text) else {
                throw CLIError.invalidInput("--since \(text): expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
            }
            return ms
        }
        let catalog = try catalogs.load(workspaces: [workspace])
        let ws = try loadWorkspace(workspace, catalog: catalog)
        var replayer = TraceReplayer(workspace: ws, catalog: catalog)
        var usage = TraceUsage()
        var input = TraceInput(files: traces, command: "unused")
        input.forEach { read, input in
            let trace = read.trace
            if let start, let time = trace.time, time < start { return }
            if start != nil, trace.time == nil {
                return input.unmap(read, "the trace has no time, so it cannot be placed in the --since window")
            }
            switch replayer.decide(trace) {
            case .unmapped(_, let reason): input.unmap(read, reason)
            case .decided(let decision): usage.record(decision, succeeded: trace.succeeded)
            }
        }
        let report: [TraceUsage.PrincipalUsage]
        do { report = try usage.report(ws, catalog: catalog) } catch { throw CLIError.invalidInput(error.message) }
        switch format {
        case .json:
            var json = JSONWriter()
            json.beginObject()
            json.key("principals")
            json.beginArray()
            for entry in report {
                json.beginObject()
                json.field("principal", entry.principal)
                json.field("unused", entry.unused.map(\.action.name))
                json.field("used", entry.used.map(\.action.name))
                json.endObject()
            }
            json.endArray()
            TraceInput.write(unmapped: input.unmapped, into: &json)
            json.field("total", input.total)
            json.endObject()
            json.newline()
            Console.write(json.bytes)
        case .text:
            var lines: [String] = []
            for entry in report {
                lines.append("\(entry.principal): \(entry.unused.count) of \(entry.unused.count + entry.used.count) granted actions unused")
                // Per service and access level, as `bulwark access` groups them.
                var groups: [(String, [ActionAccess])] = []
                for access in entry.unused {
                    let key = "\(access.action.name.split(separator: ":").first ?? "") \(access.action.accessLevel.rawValue)"
                    if groups.last?.0 == key { groups[groups.count - 1].1.append(access) } else { groups.append((key, [access])) }
                }
                for (key, actions) in groups {
                    lines.append("  \(key): \(actions.count) unused")
                    for access in actions {
                        let sources = Set(access.grants.map { "\($0.source.policyID)#\($0.source.statementIndex)" }).sorted()
                        lines.append("    \(access.action.name) (granted by \(sources.joined(separator: ", ")))")
                    }
                }
            }
            for item in input.unmapped { lines.append("unmapped \(item.traceID): \(item.reason)") }
            lines.append("\(input.total) trace\(input.total == 1 ? "" : "s") read, \(input.unmapped.count) unmapped")
            Console.print(lines.joined(separator: "\n"))
        }
        if input.brokenFiles > 0 { throw CLIError(message: "", exitCode: ExitCode.invalidInput) }
        if input.hasUnmapped { throw CLIError(message: "", exitCode: ExitCode.incomplete) }
    }

    /// `2026-11-30` (midnight UTC) or `2026-11-30T08:00:00Z` as milliseconds since 1970.
    static func milliseconds(_ text: String) -> Int64? {
        let dateOnly = text.count == 10
        let strategy = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)
        guard let date = dateOnly ? try? strategy.year().month().day().parse(text) : try? strategy.parse(text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
