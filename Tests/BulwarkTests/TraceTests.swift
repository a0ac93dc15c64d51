import BulwarkCatalog
import BulwarkJSON
import BulwarkTestSupport
import BulwarkTraces
import BulwarkWorkspace
import Foundation
import Testing

@Suite("CTS traces")
struct TraceTests {
    static let one = #"{"trace_id": "a", "service_type": "IMS", "user": {"principal_urn": "iam::0a1b2c:user:bob"}}"#

    /// Every trace id a file's bytes give, fed in chunks of `chunk` bytes.
    func ids(_ text: String, chunk: Int = 1 << 20) throws -> [String] {
        var splitter = TraceSplitter()
        var ids: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            for piece in try splitter.feed(Array(bytes[start..<min(start + chunk, bytes.count)])) {
                for result in CTSTrace.read(piece) { ids.append(try result.get().traceID) }
            }
            start += chunk
        }
        try splitter.finish()
        return ids
    }

    @Test func filesOfEveryLayoutSplitAlikeWhateverTheChunks() throws {
        let b = Self.one.replacingOccurrences(of: "\"a\"", with: "\"b\\\"}{\"")
        let layouts = [
            "[\(Self.one),\n \(b)]", "\(Self.one)\n\(b)\n", "{\"traces\": [\(Self.one), \(b)], \"meta_data\": {\"count\": 2}}",
        ]
        for text in layouts {
            for chunk in [1, 2, 3, 7, 64, 1 << 20] {
                #expect(try ids(text, chunk: chunk) == ["a", "b\"}{"], "\(text) in chunks of \(chunk)")
            }
        }
    }

    @Test func brokenFilesAreLocated() throws {
        let cases: [(String, Int, Int, String)] = [
            ("[\(Self.one)", 1, 93, "the file ends inside the array of traces (truncated?)"),
            ("[\(Self.one), 7]", 1, 95, "trace 1 is not an object (found '7')"),
            ("[\(Self.one)\n {}]", 2, 2, "expected ',' or ']' after trace 0, found '{'"),
            ("[{\"trace_id\": \"a\"", 1, 18, "the file ends inside a trace (truncated?)"),
            ("\"x\"", 1, 1, "expected an array of traces or a trace object, found '\"'"),
            ("", 1, 1, "the file holds no traces (expected an array or objects)"),
        ]
        for (text, line, column, message) in cases {
            #expect(throws: Error.self) { _ = try ids(text) }
            do { _ = try ids(text) } catch let error as TraceFileError {
                #expect((error.location.line, error.location.column, error.message) == (line, column, message), "\(text)")
            }
        }
    }

    @Test func aTraceThatIsAlsoAListIsAProblem() throws {
        var splitter = TraceSplitter()
        let text = #"{"trace_id": "x", "service_type": "IMS", "user": {}, "traces": [{"trace_id": "y"}]}"#
        let results = try splitter.feed(Array(text.utf8)).flatMap(CTSTrace.read)
        guard results.count == 1, case .failure(let problem) = results[0] else {
            Issue.record("expected one problem, got \(results)")
            return
        }
        #expect(problem.description == "1:1: $: both a trace (trace_id) and a ListTraces answer (traces); neither is read")
    }

    @Test func duplicateFieldsMakeATraceAProblem() throws {
        for text in [
            #"{"trace_id": "x", "trace_id": "y", "service_type": "IMS", "user": {}}"#,
            #"{"trace_id": "x", "service_type": "IMS", "user": {"principal_urn": "iam::1:user:a", "principal_urn": "iam::1:user:admin"}}"#,
        ] {
            var splitter = TraceSplitter()
            let results = try splitter.feed(Array(text.utf8)).flatMap(CTSTrace.read)
            guard results.count == 1, case .failure(let problem) = results[0] else {
                Issue.record("expected one problem for \(text)")
                continue
            }
            #expect(problem.message.hasPrefix("duplicate field"), "\(problem)")
        }
    }

    @Test func tracesBeforeABreakAreGivenFirst() throws {
        // The break is in the same chunk as a whole trace: the trace comes first, then the error.
        var splitter = TraceSplitter()
        let texts = try splitter.feed(Array("\(Self.one)\n/".utf8))
        #expect(texts.count == 1)
        #expect(throws: TraceFileError.self) { _ = try splitter.feed(Array("{}".utf8)) }
        #expect(throws: TraceFileError.self) { try splitter.finish() }
    }

    @Test func badTracesAreLocatedInTheirFile() throws {
        var splitter = TraceSplitter()
        let text = "[\(Self.one),\n  {\"trace_id\": \"x\", \"service_type\": \"IMS\",\n   \"user\": {\"principal_urn\": 7}, \"time\": \"soon\"}]"
        let pieces = try splitter.feed(Array(text.utf8))
        let results = pieces.flatMap(CTSTrace.read)
        #expect(results.count == 2)
        guard case .failure(let problem) = results[1] else {
            Issue.record("read")
            return
        }
        #expect(problem.description == #"3:30: $[1].user.principal_urn: "user.principal_urn" must be a string, found number"#)
        #expect(problem.traceID == "x")
    }

    @Test func gzipFilesAndConcatenatedMembersAreRead() throws {
        // gzip.compress(b'[{"trace_id":"g-1","service_type":"IMS","user":{"principal_urn":"iam::0a1b2c:user:bob"}}]', mtime=0)
        let member: [UInt8] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 139, 174, 86, 42, 41, 74, 76, 78, 141, 207, 76, 81, 178, 82, 74, 215, 53, 84, 210, 81, 42, 78, 45, 42,
            203, 4, 10, 149, 84, 22, 164, 2, 5, 61, 125, 131, 129, 130, 165, 64, 81, 37, 171, 106, 165, 130, 162, 204, 188, 228, 204, 130, 196,
            156, 248, 210, 162, 60, 160, 108, 102, 98, 174, 149, 149, 65, 162, 97, 146, 81, 178, 21, 72, 141, 85, 82, 126, 146, 82, 109, 109, 44,
            0, 156, 71, 137, 109, 89, 0, 0, 0,
        ]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-gz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func read(_ bytes: [UInt8]) throws -> [String] {
            let file = directory.appendingPathComponent("t.json.gz")
            try Data(bytes).write(to: file)
            var ids: [String] = []
            try TraceFiles.read(file.path) { ids.append((try? $0.get().traceID) ?? "?") }
            return ids
        }
        #expect(try read(member) == ["g-1"])
        // Two members hold two arrays: the second array is refused after the first, as in a plain file.
        #expect(throws: TraceFileError.self) { try read(member + member) }
        #expect(throws: TraceFileError.self) { try read(Array(member.prefix(60))) }
        var damaged = member
        damaged[30] ^= 0xFF
        #expect(throws: TraceFileError.self) { try read(damaged) }
    }

    @Test func timesAreUTCDates() {
        #expect(TraceReplayer.iso8601(milliseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(TraceReplayer.iso8601(milliseconds: 1_764_489_600_000) == "2025-11-30T08:00:00Z")
        #expect(TraceReplayer.iso8601(milliseconds: 1_709_164_799_999) == "2024-02-28T23:59:59Z")
        #expect(TraceReplayer.iso8601(milliseconds: 1_709_164_800_000) == "2024-02-29T00:00:00Z")
        #expect(TraceReplayer.iso8601(milliseconds: -1) == "1969-12-31T23:59:59Z")
    }

    @Test func callersMapToWorkspacePrincipals() {
        func urn(_ configure: (inout CTSUser) -> Void) -> String {
            var user = CTSUser()
            configure(&user)
            switch TraceReplayer.principalURN(of: user) {
            case .success(let urn): return urn
            case .failure(let why): return "unmapped: " + why.reason
            }
        }
        #expect(urn { $0.principalURN = "iam::0a1b2c:user:bob" } == "iam::0a1b2c:user:bob")
        #expect(urn { $0.principalURN = "sts::0a1b2c:assumed-agency:ci-deployer/build-42" } == "iam::0a1b2c:agency:ci-deployer")
        #expect(
            urn {
                $0.type = "AssumedAgency"
                $0.accountID = "0a1b2c"
                $0.name = "dev-domain/ci-deployer"
            } == "iam::0a1b2c:agency:ci-deployer")
        #expect(urn { $0.type = "ExternalUser" }.hasPrefix("unmapped: a federated user"))
        #expect(urn { $0.principalURN = "iam::0a1b2c:group:devs" }.hasPrefix("unmapped: "))
        #expect(TraceReplayer.region(ofEndpoint: "ims.cn-north-4.myhuaweicloud.com") == "cn-north-4")
        #expect(TraceReplayer.region(ofEndpoint: "https://swr-api.ap-southeast-1.myhuaweicloud.com/") == "ap-southeast-1")
        #expect(TraceReplayer.region(ofEndpoint: "iam.myhuaweicloud.com") == "*")
        #expect(TraceReplayer.region(ofEndpoint: nil) == "*")
    }
}

/// `bulwark replay`, `unused` and `generate --traces` as users and CI gates see them.
@Suite("Trace commands")
struct TraceCLITests {
    let traces = packageRoot().appendingPathComponent("Tests/BulwarkTests/Fixtures/traces/mixed.json").path
    let workspace = packageRoot().appendingPathComponent("examples/workspace").path

    /// The example workspace with an SCP on engineering that denies reading images.
    func changedWorkspace() throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-replay-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: workspace, toPath: copy.path)
        try FileManager.default.copyItem(
            atPath: packageRoot().appendingPathComponent("Tests/BulwarkTests/Fixtures/traces/deny-image-reads.json").path,
            toPath: copy.appendingPathComponent("scps/deny-image-reads.json").path)
        let organization = copy.appendingPathComponent("organization.yaml")
        let text = try String(contentsOf: organization, encoding: .utf8)
        try text.replacingOccurrences(of: "scpAttachments:\n", with: "scpAttachments:\n  - scp: deny-image-reads\n    targets: [engineering]\n")
            .write(to: organization, atomically: true, encoding: .utf8)
        return copy
    }

    @Test func replayDecidesEveryTraceAndListsWhatItCannot() throws {
        let text = try runCLI(["replay", "--traces", traces, "--workspace", workspace])
        #expect(text.code == 3)
        // Paths relative to the package, wherever it is checked out.
        func relative(_ output: String) -> String { output.replacingOccurrences(of: packageRoot().path + "/", with: "") }
        try expectGolden("replay.txt", relative(text.stdout))
        #expect(text.stderr.contains(#"mixed.json:16:86: $[4].user.principal_urn: "user.principal_urn" must be a string, found number"#))
        let json = try runCLI(["replay", "--traces", traces, "--workspace", workspace, "--format", "json"])
        #expect(json.code == 3)
        try expectGolden("replay.json", relative(json.stdout))
    }

    @Test func replayAgainstAChangeListsTheDecisionsItChanges() throws {
        let changed = try changedWorkspace()
        defer { try? FileManager.default.removeItem(at: changed) }
        let text = try runCLI(["replay", "--traces", traces, "--workspace", workspace, "--against", changed.path])
        #expect(text.code == 1)
        #expect(
            text.stdout.hasPrefix(
                "newly denied (1 call):\n  iam::0a1b2c:user:bob ims:images:get: explicit_deny by scps/deny-image-reads.json#0 (NoImageReads), was allowed by accounts/dev/policies/image-readers.json#0 (ReadImages)\n    traces: t-2\n"
            ))
        let json = try runCLI(["replay", "--traces", traces, "--workspace", workspace, "--against", changed.path, "--format", "json"])
        #expect(json.code == 1)
        #expect(
            json.stdout.hasPrefix(
                #"{"changes":[{"traceId":"t-2","principal":"iam::0a1b2c:user:bob","action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1","before":{"decision":"allow","reason":"allowed"},"after":{"decision":"deny","reason":"explicit_deny"}}],"unmapped":[{"traceId":"t-4""#
            ))
        // The same workspace on both sides: nothing changes (exit 3 all the same: two traces are unmapped).
        let same = try runCLI(["replay", "--traces", traces, "--workspace", workspace, "--against", workspace])
        #expect(same.code == 3)
        #expect(same.stdout.contains("no decision changes"))
    }

    @Test func parallelReplayDecidesLikeOneTraceAtATime() throws {
        // More traces than a batch, decided on every core by the CLI, against the library one by one.
        let users = ["iam::0a1b2c:user:bob", "iam::0a1b2c:user:alice", "iam::5p5p5p:user:carol", "iam::0a1b2c:user:nobody"]
        let calls = [("GET", "/v2/cloudimages"), ("GET", "/v2/images/img-7"), ("POST", "/v2/images/img-7/members"), ("GET", "/v2/nowhere")]
        var generator = SeededGenerator(seed: 21)
        var lines: [String] = []
        for i in 0..<5000 {
            let user = users[Int(generator.next() % UInt64(users.count))]
            let (method, path) = calls[Int(generator.next() % UInt64(calls.count))]
            lines.append(
                #"{"trace_id": "t\#(i)", "service_type": "IMS", "code": "200", "http_method": "\#(method)", "#
                    + #""resource_url": "https://ims.cn-north-4.myhuaweicloud.com\#(path)", "user": {"principal_urn": "\#(user)"}}"#)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-traces-\(UUID().uuidString).jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let cli = try runCLI(["replay", "--traces", file.path, "--workspace", workspace])
        let catalog = try Catalog.bundled()
        var replayer = TraceReplayer(workspace: Workspace.load(directory: workspace, catalog: catalog), catalog: catalog)
        var expected: [String] = []
        var unmapped: [String] = []
        try TraceFiles.read(file.path) { result in
            guard case .success(let trace) = result else { return }
            switch replayer.decide(trace) {
            case .decided(let d): expected.append("\(d.decision == .allow ? "ALLOW" : "DENY ") \(d.traceID) \(d.principal) \(d.action) \(d.resource)")
            case .unmapped(let id, _): unmapped.append(id)
            }
        }
        let decided = cli.stdout.split(separator: "\n").filter { $0.hasPrefix("ALLOW") || $0.hasPrefix("DENY") }
        #expect(decided.map { $0.split(separator: " (").first.map(String.init) ?? "" } == expected)
        #expect(
            cli.stdout.split(separator: "\n").filter { $0.hasPrefix("unmapped ") }.map { String($0.dropFirst(9).prefix { $0 != ":" }) } == unmapped)
        #expect(expected.count > 1000 && unmapped.count > 1000)
    }

    @Test func unusedCountsOnlySuccessfulCallsInTheWindow() throws {
        let all = try runCLI(["unused", "--traces", traces, "--workspace", workspace, "--format", "json"])
        #expect(all.code == 3)
        #expect(all.stdout.contains(#"{"principal":"iam::0a1b2c:user:bob","unused":[],"used":["ims:images:list","ims:images:get"]}"#))
        // t-1 is at 08:00, t-2 at 08:01 on 2025-11-30: from 08:01 on, listing images was not used.
        let later = try runCLI(["unused", "--traces", traces, "--workspace", workspace, "--since", "2025-11-30T08:01:00Z", "--format", "json"])
        #expect(later.stdout.contains(#"{"principal":"iam::0a1b2c:user:bob","unused":["ims:images:list"],"used":["ims:images:get"]}"#))
        let bad = try runCLI(["unused", "--traces", traces, "--workspace", workspace, "--since", "yesterday"])
        #expect(bad.code == 2)
    }

    @Test func generateLearnsFromTraces() throws {
        let result = try runCLI(["generate", "--traces", traces, "--generalize", "resource-id"])
        #expect(result.code == 0)
        try expectGolden("generate-traces.json", result.stdout)
        #expect(result.stderr.contains("warning: trace t-4 skipped: service ECS has no catalog"))
        let missing = try runCLI(["generate", "--traces", "/nonexistent/traces.json"])
        #expect(missing.code == 2)
    }
}
