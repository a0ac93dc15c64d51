import BulwarkEngine
import BulwarkJSON
import BulwarkRuntime
import BulwarkStore
import Prometheus
import Synchronization

/// The server's Prometheus metrics, on a registry of its own (no global state), so tests can
/// run several servers in one process.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let decisionLatency: DurationHistogram
    private let decisionCounters: [String: Counter]
    private let snapshotRevision: Gauge
    private let snapshotPrincipals: Gauge
    private let requestCounters = Mutex<[String: Counter]>([:])
    /// `bulwark_unreadable_policy{kind, policy}`: 1 while a stored policy does not parse.
    private let unreadableGauges = Mutex<[String: Gauge]>([:])

    init() {
        decisionLatency = registry.makeDurationHistogram(
            descriptor: Self.name("decision_duration", "seconds", "Time to decode, decide and encode one decision request (per HTTP request)."),
            buckets: [
                .microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100),
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(25),
            ])
        var counters: [String: Counter] = [:]
        for reason in [DecisionReason.allowed, .explicitDeny, .scpNoAllow, .noIdentityAllow, .sessionNoAllow, .assumeDenied] {
            let decision = reason == .allowed ? "allow" : "deny"
            counters[reason.rawValue] = registry.makeCounter(
                descriptor: Self.name("decisions", "total", "Decisions made, by outcome."),
                labels: [("decision", decision), ("reason", reason.rawValue)])
        }
        decisionCounters = counters
        snapshotRevision = registry.makeGauge(descriptor: Self.name("snapshot", "revision", "Store revision of the compiled snapshot in use."))
        snapshotPrincipals = registry.makeGauge(descriptor: Self.name("snapshot", "principals", "Principals compiled in the snapshot in use."))
    }

    /// `bulwark_NAME_UNIT`.
    private static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "bulwark", metricName: name, unitName: unit, helpText: help)
    }

    func recordRequest(route: String, method: String, status: Int) {
        let key = "\(method) \(route) \(status)"
        let counter = requestCounters.withLock { counters in
            if let c = counters[key] { return c }
            let c = registry.makeCounter(
                descriptor: Self.name("http_requests", "total", "HTTP requests served, by route and status."),
                labels: [("method", method), ("route", route), ("status", String(status))])
            counters[key] = c
            return c
        }
        counter.increment()
    }

    func recordDecisions(_ records: [DecisionRecord], duration: Duration) {
        decisionLatency.record(duration)
        for record in records { decisionCounters[record.result.reason.rawValue]?.increment() }
    }

    func recordSnapshot(revision: Int64, principals: Int) {
        snapshotRevision.set(Double(revision))
        snapshotPrincipals.set(Double(principals))
    }

    /// Marks the stored policies that do not parse (1) and those that parse again (0).
    func recordUnreadable(_ policies: [UnreadablePolicy]) {
        unreadableGauges.withLock { gauges in
            for gauge in gauges.values { gauge.set(Double(0)) }
            for policy in policies {
                let kind = policy.isSCP ? "scp" : "policy"
                let key = kind + "\u{0}" + policy.id
                let gauge =
                    gauges[key]
                    ?? registry.makeGauge(
                        descriptor: Self.name(
                            "unreadable", "policy",
                            "1 while a stored policy or SCP does not parse; decisions that need it are refused or stay on the last good snapshot."),
                        labels: [("kind", kind), ("policy", Excerpt.of(policy.id))])
                gauges[key] = gauge
                gauge.set(Double(1))
            }
        }
    }

    /// The text exposition format.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
