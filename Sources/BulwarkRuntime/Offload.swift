import Dispatch

/// Runs CPU-heavy work (a snapshot compile, an import) on a dispatch queue and awaits it.
/// Swift tasks here run on SwiftNIO's event loops, so work that takes milliseconds to seconds
/// inside a handler would hold up every connection of that loop; on a queue of its own, it
/// shares the cores with them instead.
public func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
    }
}
