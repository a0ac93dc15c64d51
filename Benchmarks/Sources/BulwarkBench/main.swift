import BulwarkAnalysis
import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkValidation
import Foundation
import MallocCounter
import Synchronization

// A plain, honest harness: warm up, time many iterations with a monotonic clock,
// report percentiles of per-iteration times. Figures depend on the machine; compare
// ratios measured in the same run.

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Stats {
    let samples: [Double]  // nanoseconds
    func percentile(_ p: Double) -> Double {
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    var mean: Double { samples.reduce(0, +) / Double(samples.count) }
}

/// Times `body` `iterations` times (after `warmup` runs), in batches of `inner` calls.
func measure(iterations: Int, inner: Int = 1, warmup: Int = 10, _ body: () -> Void) -> Stats {
    for _ in 0..<warmup { body() }
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let t0 = now()
        for _ in 0..<inner { body() }
        samples.append(Double(now() - t0) / Double(inner))
    }
    return Stats(samples: samples)
}

func format(_ ns: Double) -> String {
    if ns < 1_000 { return String(format: "%.0f ns", ns) }
    if ns < 1_000_000 { return String(format: "%.2f µs", ns / 1_000) }
    return String(format: "%.2f ms", ns / 1_000_000)
}

var rng = SystemRandomNumberGenerator()

/// A realistic identity policy of about `bytes` bytes: mixed statements, URNs, conditions.
func realisticPolicy(targetBytes: Int, seed: Int, variables: Bool = false) -> String {
    let actions = [
        "ims:images:get", "ims:images:list", "ims:images:share", "ims:images:updateImage", "ims:images:*",
        "swr:repo:download", "swr:repo:upload", "swr:repo:getRepo", "swr:namespace:getNamespace", "ims:images:export",
    ]
    let conditions = [
        #"{"IpAddress":{"g:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#,
        #"{"ForAnyValue:StringEquals":{"g:TagKeys":["env","team"]}}"#,
        #"{"Bool":{"g:MFAPresent":"true"}}"#,
        #"{"DateLessThan":{"g:CurrentTime":"2027-01-01T00:00:00Z"}}"#,
        #"{"StringEquals":{"g:ResourceTag/env":["prod","staging"]}}"#,
    ]
    var statements: [String] = []
    var i = seed
    while statements.joined(separator: ",").utf8.count < targetBytes - 200 {
        let action = actions[i % actions.count]
        let service = action.hasPrefix("ims") ? "ims" : "swr"
        var resource = service == "ims" ? "ims:cn-north-4:0a1b2c:image:img-\(i)-*" : "swr:cn-north-4:0a1b2c:repo:team-\(i % 7)/*"
        // With variables, one statement in ten: in its Resource, or in a condition value.
        // (i % 20 == 2: an ims:images:share Allow; i % 20 == 15: a swr:repo:download Deny.)
        let withVariable = variables && (i % 20 == 2 || i % 20 == 15)
        if withVariable {
            // The account from the principal's keys; the rest as selective as the other statements.
            resource = resource.replacingOccurrences(of: "0a1b2c", with: "${g:DomainId}")
        }
        let effect = i % 5 == 0 ? "Deny" : "Allow"
        var s = #"{"Sid":"S\#(i)","Effect":"\#(effect)","Action":["\#(action)"],"Resource":["\#(resource)"]"#
        if withVariable && i % 40 == 2 {
            s += #","Condition":{"StringEquals":{"g:ResourceTag/owner":"${g:UserName}"}}"#
        } else if i % 2 == 0 {
            s += #","Condition":"# + conditions[i % conditions.count]
        }
        statements.append(s + "}")
        i += 1
    }
    return #"{"Version":"5.0","Statement":["# + statements.joined(separator: ",") + "]}"
}

func benchValidate() throws {
    let catalog = try Catalog.bundled()
    let validator = PolicyValidator(catalog: catalog)
    let policy = realisticPolicy(targetBytes: 6_000, seed: 1)
    let bytes = Array(policy.utf8)
    let stats = measure(iterations: 2_000) { _ = validator.validate(bytes: bytes, type: .identity) }
    print("validate: one \(bytes.count)-byte identity policy: p50 \(format(stats.percentile(0.5))), p99 \(format(stats.percentile(0.99)))")
    let many = (0..<10_000).map { Array(realisticPolicy(targetBytes: 2_000 + ($0 % 4) * 1_000, seed: $0).utf8) }
    let t0 = now()
    var findings = 0
    for p in many { findings += validator.validate(bytes: p, type: .identity).count }
    let total = Double(now() - t0)
    let kb = many.reduce(0) { $0 + $1.count } / 1024
    print("validate: 10,000 policies (\(kb) KiB) in \(format(total)), \(findings) findings")
}

/// `bulwark diff` of two different ~6 KB policies over both catalogs, from parsed policies.
func benchDiff() throws {
    let analyzer = PolicyAnalyzer(catalog: try Catalog.bundled())
    let old = try PolicyParser.parse(realisticPolicy(targetBytes: 6_000, seed: 1))
    let new = try PolicyParser.parse(realisticPolicy(targetBytes: 6_000, seed: 4))
    let a = AccessModel.single(NamedPolicy(id: "old", policy: old), asSCP: false)
    let b = AccessModel.single(NamedPolicy(id: "new", policy: new), asSCP: false)
    var regions = 0
    let stats = measure(iterations: 50, warmup: 3) { regions = analyzer.difference(old: a, new: b).added.count }
    let same = measure(iterations: 50, warmup: 3) { _ = analyzer.difference(old: a, new: a) }
    print(
        "diff: two 6 KB policies (\(old.statements.count) and \(new.statements.count) statements, \(regions) added regions): p50 \(format(stats.percentile(0.5))), p99 \(format(stats.percentile(0.99))); a policy with itself: p50 \(format(same.percentile(0.5)))"
    )
}

/// The issue's workload: `count` identity policies of about 600 bytes (mixed Allow/Deny, action
/// wildcards, URN patterns, conditions on IPs, tags, MFA, dates and resource tags) and three SCP
/// levels, compiled with the bundled catalog; 1,000 requests cycling over three actions.
func authorizeWorkload(count: Int, variables: Bool = false) throws -> (PolicySet, [AuthorizationRequest]) {
    var identity: [NamedPolicy] = []
    for i in 0..<count {
        identity.append(NamedPolicy(id: "p\(i)", policy: try PolicyParser.parse(realisticPolicy(targetBytes: 600, seed: i, variables: variables))))
    }
    let full = try PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*"}]}"#)
    let deny = try PolicyParser.parse(
        #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"ims:images:share","Condition":{"ForAnyValue:StringNotMatch":{"ims:TargetOrgPaths":"o-1/r-1/*"}}}]}"#
    )
    let levels = [
        [NamedPolicy(id: "FullAccess", policy: full)],
        [NamedPolicy(id: "FullAccess", policy: full), NamedPolicy(id: "deny-share", policy: deny)],
        [NamedPolicy(id: "FullAccess", policy: full)],
    ]
    let requests = (0..<1_000).map { i -> AuthorizationRequest in
        var context = RequestContext()
        context.set("g:SourceIp", [.string("10.\(i % 256).0.1")])
        context.set("g:TagKeys", [.string("env")], isList: true)
        // What a principal's keys add: variables resolve against them.
        context.set("g:UserName", [.string("team-\(i % 7)")])
        context.set("g:DomainId", [.string("0a1b2c")])
        return AuthorizationRequest(
            action: ["ims:images:get", "swr:repo:download", "ims:images:share"][i % 3],
            resource: i % 3 == 1 ? "swr:cn-north-4:0a1b2c:repo:team-\(i % 7)/app" : "ims:cn-north-4:0a1b2c:image:img-\(i % count)-x",
            context: context)
    }
    return (PolicySet(identityPolicies: identity, scpLevels: levels), requests)
}

/// Decisions per second over `requests`, one thread, `rounds` passes after one warm-up pass.
func throughput(_ requests: [AuthorizationRequest], rounds: Int, _ decide: (AuthorizationRequest) -> Bool) -> Double {
    var allowed = 0
    for r in requests where decide(r) { allowed += 1 }
    let t0 = now()
    for _ in 0..<rounds { for r in requests where decide(r) { allowed += 1 } }
    let elapsed = Double(now() - t0)
    precondition(allowed >= 0)
    return Double(rounds * requests.count) / (elapsed / 1e9)
}

/// Heap allocations per call of `body`, over every request.
func allocationsPerCall(_ requests: [AuthorizationRequest], _ body: (AuthorizationRequest) -> Void) -> Double {
    let before = bulwark_allocation_count()
    for r in requests { body(r) }
    return Double(bulwark_allocation_count() - before) / Double(requests.count)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func benchAuthorize() throws {
    let catalog = try Catalog.bundled()
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let clock = measure(iterations: 100_000) {}
    print("authorize: reading the clock costs \(format(clock.percentile(0.5))) (included in every latency below)")
    let sizes = [10, 100, 1_000, 10_000]
    var compiled: [(authorizer: Authorizer, requests: [AuthorizationRequest], compile: Double, memory: Double)] = []
    for count in sizes {
        let (set, requests) = try authorizeWorkload(count: count)
        let heapBefore = bulwark_heap_bytes_in_use()
        let t0 = now()
        let authorizer = Authorizer(policies: set, catalog: catalog)
        let compile = Double(now() - t0)
        compiled.append((authorizer, requests, compile, Double(bulwark_heap_bytes_in_use()) - Double(heapBefore)))
    }
    typealias Run = @Sendable (Authorizer, AuthorizationRequest) -> Bool
    let modes: [(String, Run)] = [
        ("decide", { $0.decide($1).decision == .allow }),
        ("authorize (every match)", { $0.authorize($1).decision == .allow }),
    ]
    print(
        "| policies | mode | p50 | p99 | decisions/s, batch on 1 core | batch on all \(cores) cores, per core | allocations/decision | compile | memory (compiled) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    var growth: [String] = []
    for (mode, run) in modes {
        // Rounds interleave the sizes so a noisy stretch of the machine hits them all alike;
        // each figure is the median over the rounds.
        var p50 = Array(repeating: [Double](), count: sizes.count)
        var p99 = p50
        var single = p50
        var batch = p50
        for _ in 0..<5 {
            for (i, c) in compiled.enumerated() {
                var k = 0
                let stats = measure(iterations: 20_000, warmup: 2_000) {
                    _ = run(c.authorizer, c.requests[k % c.requests.count])
                    k += 1
                }
                p50[i].append(stats.percentile(0.5))
                p99[i].append(stats.percentile(0.99))
                let rounds = max(1, (mode == "decide" || sizes[i] < 10_000 ? 100_000 : 10_000) / c.requests.count)
                single[i].append(throughput(c.requests, rounds: rounds) { run(c.authorizer, $0) })
                let t1 = now()
                DispatchQueue.concurrentPerform(iterations: cores) { _ in
                    _ = throughput(c.requests, rounds: rounds) { run(c.authorizer, $0) }
                }
                batch[i].append(Double(rounds * c.requests.count) / (Double(now() - t1) / 1e9))
            }
        }
        for (i, c) in compiled.enumerated() {
            let allocations = allocationsPerCall(c.requests) { _ = run(c.authorizer, $0) }
            print(
                "| \(sizes[i]) | \(mode) | \(format(median(p50[i]))) | \(format(median(p99[i]))) | \(String(format: "%.0f", median(single[i]))) | \(String(format: "%.0f", median(batch[i]))) | \(String(format: "%.2f", allocations)) | \(format(c.compile)) | \(String(format: "%.1f MiB", c.memory / 1_048_576)) |"
            )
        }
        growth.append("\(mode) \(String(format: "%.2f", median(p50[sizes.count - 1]) / median(p50[0])))×")
    }
    print("authorize: p50 growth from 10 to 10,000 policies: " + growth.joined(separator: ", "))
}

/// SPEC §2's policy variables: the authorize workload with one statement in ten using a variable,
/// next to the same workload without, measured in interleaved rounds (p50/p99 are medians of 5).
func benchVariables() throws {
    let catalog = try Catalog.bundled()
    print("| policies | statements with variables | mode | p50 | p99 | compile |")
    print("|---|---|---|---|---|---|")
    for count in [1_000, 10_000] {
        var rows: [(label: String, authorizer: Authorizer, requests: [AuthorizationRequest], compile: Double)] = []
        for variables in [false, true] {
            let (set, requests) = try authorizeWorkload(count: count, variables: variables)
            let statements = set.identityPolicies.flatMap(\.policy.statements)
            let share = Double(statements.filter(\.hasVariables).count) / Double(statements.count)
            let t0 = now()
            let authorizer = Authorizer(policies: set, catalog: catalog)
            rows.append((String(format: "%.0f %%", share * 100), authorizer, requests, Double(now() - t0)))
            if variables {
                // The variables must take part: count decisions a statement with variables determined.
                let byPolicy = Dictionary(uniqueKeysWithValues: set.identityPolicies.map { ($0.id, $0.policy) })
                let determined = requests.filter { r in
                    authorizer.authorize(r).matched.contains { m in byPolicy[m.policyID]?.statements[m.statementIndex].hasVariables == true }
                }.count
                print("variables: \(count) policies: \(determined) of \(requests.count) requests matched a statement with variables")
            }
        }
        for (mode, every) in [("decide", false), ("authorize", true)] {
            var p50 = [[Double]](repeating: [], count: rows.count)
            var p99 = p50
            for _ in 0..<5 {
                for (i, row) in rows.enumerated() {
                    var k = 0
                    let stats = measure(iterations: 20_000, warmup: 2_000) {
                        let r = row.requests[k % row.requests.count]
                        _ = every ? row.authorizer.authorize(r).decision : row.authorizer.decide(r).decision
                        k += 1
                    }
                    p50[i].append(stats.percentile(0.5))
                    p99[i].append(stats.percentile(0.99))
                }
            }
            for (i, row) in rows.enumerated() {
                print("| \(count) | \(row.label) | \(mode) | \(format(median(p50[i]))) | \(format(median(p99[i]))) | \(format(row.compile)) |")
            }
            print("variables: \(count) policies, \(mode): p50 with variables / without = \(String(format: "%.2f", median(p50[1]) / median(p50[0])))×")
        }
    }
}

let which = CommandLine.arguments.dropFirst().first ?? "all"
if which != "replay" { print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB") }
if which == "validate" || which == "all" { try benchValidate() }
if which == "authorize" || which == "all" { try benchAuthorize() }
if which == "variables" || which == "all" { try benchVariables() }
if which == "diff" || which == "all" { try benchDiff() }
if which == "diff-once" {
    let analyzer = PolicyAnalyzer(catalog: try Catalog.bundled())
    let a = AccessModel.single(NamedPolicy(id: "old", policy: try PolicyParser.parse(realisticPolicy(targetBytes: 6_000, seed: 1))), asSCP: false)
    let b = AccessModel.single(NamedPolicy(id: "new", policy: try PolicyParser.parse(realisticPolicy(targetBytes: 6_000, seed: 4))), asSCP: false)
    for _ in 0..<(Int(CommandLine.arguments.dropFirst(2).first ?? "5") ?? 5) { _ = analyzer.difference(old: a, new: b) }
}

if which == "probe" {
    let validator = PolicyValidator(catalog: try Catalog.bundled())
    for size in [200, 400, 800, 1600, 3200, 6000] {
        let bytes = Array(realisticPolicy(targetBytes: size, seed: 1).utf8)
        let stats = measure(iterations: 500) { _ = validator.validate(bytes: bytes, type: .identity) }
        let parse = measure(iterations: 500) { _ = try? PolicyParser.parse(bytes: bytes) }
        print("probe: \(bytes.count) bytes: validate p50 \(format(stats.percentile(0.5))), parse p50 \(format(parse.percentile(0.5)))")
    }
}

if which == "parse" {
    let bytes = Array(realisticPolicy(targetBytes: 6000, seed: 1).utf8)
    let stats = measure(iterations: 5000) { _ = try? PolicyParser.parse(bytes: bytes) }
    print("parse p50 \(format(stats.percentile(0.5)))")
}

// `bulwark-bench replay FILE`: decision time alone for an authorize input, as one JSON line.
if which == "replay", CommandLine.arguments.count > 2 {
    let data = FileManager.default.contents(atPath: CommandLine.arguments[2])!
    let input = try AuthorizationInput.decode(bytes: Array(data))
    let catalog = try Catalog.bundled()
    let t0 = now()
    let authorizer = Authorizer(policies: input.policies, catalog: catalog)
    let compile = Double(now() - t0)
    var allowed = 0
    for r in input.requests.prefix(1_000) { if authorizer.authorize(r).decision == .allow { allowed += 1 } }  // warm-up
    allowed = 0
    let t1 = now()
    for r in input.requests { if authorizer.authorize(r).decision == .allow { allowed += 1 } }
    let single = Double(now() - t1)
    var decided = 0
    let t3 = now()
    for r in input.requests { if authorizer.decide(r).decision == .allow { decided += 1 } }
    let decide = Double(now() - t3)
    precondition(decided == allowed, "decide and authorize disagree")
    let t2 = now()
    BatchEvaluation.run(input.requests, authorizer: authorizer, explain: false, render: { _, _, _, _ in }, emit: { _ in })
    let batch = Double(now() - t2)
    print(
        "{\"requests\":\(input.requests.count),\"allowed\":\(allowed),\"compileSeconds\":\(compile / 1e9),\"singleSeconds\":\(single / 1e9),\"decideSeconds\":\(decide / 1e9),\"batchSeconds\":\(batch / 1e9)}"
    )
}

if which == "decide-once" {
    // `decide-once N [variables]`: every request of the N-policy workload decided ROUNDS times
    // (environment, default 10), for instruction counts under callgrind: the difference of two
    // ROUNDS values is the decisions' own cost (machines here are too noisy for time ratios).
    let count = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 1000 : 1000
    let (set, requests) = try authorizeWorkload(count: count, variables: CommandLine.arguments.contains("variables"))
    let authorizer = Authorizer(policies: set, catalog: try Catalog.bundled())
    var allowed = 0
    let rounds = Int(ProcessInfo.processInfo.environment["ROUNDS"] ?? "") ?? 10
    for _ in 0..<rounds { for r in requests where authorizer.decide(r).decision == .allow { allowed += 1 } }
    print("decide-once: \(requests.count * rounds) decisions, \(allowed) allowed")
}

if which == "hot" {
    // A steady loop for profilers: `hot N [authorize]`, the benchmark's workload with N policies, 5 s.
    let count = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 100 : 100
    let every = CommandLine.arguments.count > 3 && CommandLine.arguments[3] == "authorize"
    let (set, requests) = try authorizeWorkload(count: count, variables: CommandLine.arguments.contains("variables"))
    let authorizer = Authorizer(policies: set, catalog: try Catalog.bundled())
    let end = now() + 5_000_000_000
    var k = 0
    var allowed = 0
    while now() < end {
        for _ in 0..<1000 {
            let r = requests[k % requests.count]
            if every ? authorizer.authorize(r).decision == .allow : authorizer.decide(r).decision == .allow { allowed += 1 }
            k += 1
        }
    }
    print("hot: \(k) decisions, \(allowed) allowed")
}

if which == "validate-once" {
    // 200 validations of the 5.9 KB policy, for instruction counting (perf stat / callgrind).
    let validator = PolicyValidator(catalog: try Catalog.bundled())
    let bytes = Array(realisticPolicy(targetBytes: 6000, seed: 1).utf8)
    var n = 0
    let iterations = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 40 : 40
    for _ in 0..<iterations { n += validator.validate(bytes: bytes, type: .identity).count }
    print("findings \(n)")
}

if which == "by-action" {
    // p50 per action of the authorize workload (`by-action N`), both modes: where the time goes.
    let count = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 10_000 : 10_000
    let (set, requests) = try authorizeWorkload(count: count)
    let authorizer = Authorizer(policies: set, catalog: try Catalog.bundled())
    for action in ["ims:images:get", "swr:repo:download", "ims:images:share"] {
        let subset = requests.filter { $0.action == action }
        var k = 0
        let d = measure(iterations: 20_000) {
            _ = authorizer.decide(subset[k % subset.count])
            k += 1
        }
        let a = measure(iterations: 20_000) {
            _ = authorizer.authorize(subset[k % subset.count])
            k += 1
        }
        let matched = subset.map { authorizer.authorize($0).matched.count }.sorted()
        print(
            "\(action): decide p50 \(format(d.percentile(0.5))), authorize p50 \(format(a.percentile(0.5))), matched median \(matched[matched.count / 2]) max \(matched.last!)"
        )
    }
}

if which == "catalog-load", CommandLine.arguments.count > 2 {
    // Where a command's catalog start-up goes (`catalog-load DIR`, DIR as scripts/bench/schema-catalogs.py writes it).
    let builtIn = try Catalog.bundled()
    let files = try Catalog.files(inDirectories: [CommandLine.arguments[2]])
    let globalKeys = builtIn.globalKeys
    if CommandLine.arguments.count > 3 {
        // `catalog-load DIR reader|merge`: one phase only, for a profiler.
        for _ in 0..<20 {
            if CommandLine.arguments[3] == "reader" {
                for file in files {
                    var reader = HuaweiSchemaReader(file: file.name, globalKeys: globalKeys)
                    _ = reader.read(file.bytes)
                }
            } else {
                _ = try? builtIn.merging(files)
            }
        }
        exit(0)
    }
    let syntax = measure(iterations: 20, warmup: 2) {
        for file in files {
            var reader = JSONReader(bytes: file.bytes)
            _ = try? reader.readDocument()
        }
    }
    let schemas = measure(iterations: 20, warmup: 2) {
        for file in files {
            var reader = HuaweiSchemaReader(file: file.name, globalKeys: globalKeys)
            _ = reader.read(file.bytes)
        }
    }
    let parallel = measure(iterations: 20, warmup: 2) {
        let results = Mutex<[ServiceCatalog]>([])
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            var reader = HuaweiSchemaReader(file: files[i].name, globalKeys: globalKeys)
            if case .success(let service) = reader.read(files[i].bytes) { results.withLock { $0.append(service) } }
        }
    }
    let merged = measure(iterations: 20, warmup: 2) { _ = try? builtIn.merging(files) }
    let catalog = try builtIn.merging(files).catalog
    let index = measure(iterations: 20, warmup: 2) { _ = Catalog(services: catalog.services, globalKeys: globalKeys) }
    print("catalog-load: \(files.count) files, \(files.map(\.bytes.count).reduce(0, +)) bytes, \(catalog.allActions.count) actions")
    for (name, stats) in [
        ("JSON syntax tree, one core", syntax), ("schema reader, one core", schemas), ("schema reader, all cores", parallel),
        ("merging (all cores), checks", merged),
        ("Catalog.init over the result", index),
    ] {
        print("  \(name.padding(toLength: 30, withPad: " ", startingAt: 0)) min \(format(stats.percentile(0))), p50 \(format(stats.percentile(0.5)))")
    }
}
