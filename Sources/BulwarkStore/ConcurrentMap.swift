import Foundation
import Synchronization

/// `items.map(transform)` spread over every core, order kept; `transform` must be pure.
func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    guard cores > 1, items.count >= 256 else { return items.map(transform) }
    let slices = cores * 4  // a few per core, so one slow slice does not hold the others up
    let per = (items.count + slices - 1) / slices
    let results = Mutex<[[R]]>(Array(repeating: [], count: slices))
    DispatchQueue.concurrentPerform(iterations: slices) { slice in
        let range = min(items.count, slice * per)..<min(items.count, (slice + 1) * per)
        let mapped = items[range].map(transform)
        results.withLock { $0[slice] = mapped }
    }
    return results.withLock { $0.flatMap { $0 } }
}
