import Dispatch
import Foundation

/// Work split over the machine's cores, results in input order: replaying a million traces is
/// a batch job, and each trace is independent of the others.
public enum OnEveryCore {
    /// How many workers: one per active core, at most `limit`.
    public static func workers(limit: Int = 8) -> Int { max(1, min(limit, ProcessInfo.processInfo.activeProcessorCount)) }

    /// `transform` of each element, computed by `workers` workers over contiguous slices;
    /// `transform` gets the worker's index, so a worker may keep state of its own (`WorkerState`).
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], workers: Int, _ transform: @Sendable (Int, T) -> R
    ) -> [R] {
        guard workers > 1, items.count > 1 else { return items.map { transform(0, $0) } }
        let slices = min(workers, items.count)
        let results = ResultSlots<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: slices) { worker in
            let range = (items.count * worker / slices)..<(items.count * (worker + 1) / slices)
            for i in range { results.set(i, transform(worker, items[i])) }
        }
        return results.values()
    }
}

/// One slot per result; each index is written by exactly one worker before any is read.
private final class ResultSlots<R>: @unchecked Sendable {
    /// Fixed storage (never reallocated), so workers write their own slots without racing.
    private let slots: UnsafeMutableBufferPointer<R?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        _ = slots.deinitialize()
        slots.deallocate()
    }

    func set(_ index: Int, _ value: R) { slots[index] = value }

    func values() -> [R] { slots.map { $0! } }
}

/// State each worker keeps across batches (its own replayers with their caches): worker `i`
/// touches only element `i`, so no lock is needed.
public final class WorkerState<State>: @unchecked Sendable {
    /// Fixed storage (never reallocated), so workers change their own state without racing.
    private let states: UnsafeMutableBufferPointer<State>

    public init(_ make: () -> State, workers: Int) {
        states = .allocate(capacity: workers)
        for i in 0..<workers { (states.baseAddress! + i).initialize(to: make()) }
    }

    deinit {
        _ = states.deinitialize()
        states.deallocate()
    }

    /// Worker `index`'s state, to read and change.
    public func withState<R>(_ index: Int, _ body: (inout State) -> R) -> R { body(&states[index]) }
}
