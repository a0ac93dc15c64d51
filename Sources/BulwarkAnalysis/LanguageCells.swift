/// Why an exact answer could not be given.
public struct AnalysisLimit: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Finds every combination of "in / not in" that a string can have with respect to
/// a list of languages, with one shortest string for each, by walking the product
/// of their automata breadth-first.
///
/// All scalars that no automaton singles out behave alike, so the walk tries each
/// mentioned scalar and one other: the alphabet stays small and the answer exact.
enum LanguageCells {
    struct Cell: Sendable {
        /// `membership[i]`: whether the witness is in language i.
        let membership: [Bool]
        let witness: String
    }

    /// Product states explored before giving up.
    static let stateLimit = 50_000

    /// The realizable membership vectors of strings in `universe` (every string when nil).
    static func cells(of languages: [ScalarAutomaton], within universe: ScalarAutomaton?) throws(AnalysisLimit) -> [Cell] {
        let automata = languages + (universe.map { [$0] } ?? [])
        var mentioned = Set<Unicode.Scalar>()
        for a in automata { mentioned.formUnion(a.mentionedScalars) }
        // Prefer a readable filler for the "any other scalar" class.
        let filler = "xyzabcdefghijklmnopqrstuvw0123456789".unicodeScalars.first { !mentioned.contains($0) }
            ?? (0x4E00...0x9FFF).lazy.compactMap(Unicode.Scalar.init).first { !mentioned.contains($0) }!
        let alphabet = [filler] + mentioned.sorted { $0.value < $1.value }

        typealias State = [[Int]]
        var index: [State: Int] = [:]
        var states: [State] = []
        var parent: [(from: Int, scalar: Unicode.Scalar)?] = []
        let first = automata.map(\.initialStates)
        index[first] = 0
        states.append(first)
        parent.append(nil)
        var found: [[Bool]: Int] = [:]
        var order: [[Bool]] = []
        var cursor = 0
        while cursor < states.count {
            let state = states[cursor]
            let inUniverse = universe == nil || automata[automata.count - 1].accepts(state[automata.count - 1])
            if inUniverse {
                let vector = languages.indices.map { automata[$0].accepts(state[$0]) }
                if found[vector] == nil {
                    found[vector] = cursor
                    order.append(vector)
                } else if found[vector] == 0 {
                    // An empty witness is correct but reads badly; the shortest non-empty one is better.
                    found[vector] = cursor
                }
            }
            for scalar in alphabet {
                let next = automata.indices.map { automata[$0].step(state[$0], scalar) }
                // Once the universe is left it is never re-entered.
                if universe != nil && next[automata.count - 1].isEmpty { continue }
                if index[next] == nil {
                    guard states.count < stateLimit else {
                        throw AnalysisLimit("more than \(stateLimit) combined states for \(languages.count) string patterns")
                    }
                    index[next] = states.count
                    states.append(next)
                    parent.append((cursor, scalar))
                }
            }
            cursor += 1
        }
        return order.map { vector in
            var scalars: [Unicode.Scalar] = []
            var at = found[vector]!
            while let step = parent[at] {
                scalars.append(step.scalar)
                at = step.from
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars.reversed())
            return Cell(membership: vector, witness: String(text))
        }
    }
}
