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
/// The analysis's string cells; exposed to the tests as SPI (`@_spi(Testing) import`), so the
/// tests need no testable build and share the release build with the CLI.
@_spi(Testing) public enum LanguageCells {
    @_spi(Testing) public struct Cell: Sendable {
        /// `membership[i]`: whether the witness is in language i.
        @_spi(Testing) public let membership: [Bool]
        @_spi(Testing) public let witness: String
    }

    /// Product states explored before giving up.
    static let stateLimit = 50_000

    /// The realizable membership vectors of strings in `universe` (every string when nil).
    @_spi(Testing) public static func cells(of languages: [ScalarAutomaton], within universe: ScalarAutomaton?) throws(AnalysisLimit) -> [Cell] {
        let automata = languages + (universe.map { [$0] } ?? [])
        var mentioned = Set<Unicode.Scalar>()
        for a in automata { mentioned.formUnion(a.mentionedScalars) }
        // Prefer a readable filler for the "any other scalar" class.
        let filler =
            "xyzabcdefghijklmnopqrstuvw0123456789".unicodeScalars.first { !mentioned.contains($0) }
            ?? (0x4E00...0x9FFF).lazy.compactMap(Unicode.Scalar.init).first { !mentioned.contains($0) }!
        let alphabet = [filler] + mentioned.sorted { $0.value < $1.value }

        // Each automaton is determinized lazily over the small alphabet, so a product state is
        // just one integer per automaton and a step is a table lookup.
        var dfas = automata.map { LazyDFA($0, alphabetSize: alphabet.count) }
        let n = automata.count
        let universeIndex = universe == nil ? -1 : n - 1
        var index: [[Int32]: Int] = [:]
        var states: [[Int32]] = []
        var parent: [(from: Int, symbol: Int)] = []
        let first = [Int32](repeating: 0, count: n)
        index[first] = 0
        states.append(first)
        parent.append((-1, -1))
        var found: [[Bool]: Int] = [:]
        var order: [[Bool]] = []
        var next = first
        var cursor = 0
        while cursor < states.count {
            let state = states[cursor]
            if universeIndex < 0 || dfas[universeIndex].accepting[Int(state[universeIndex])] {
                let vector = languages.indices.map { dfas[$0].accepting[Int(state[$0])] }
                if found[vector] == nil {
                    found[vector] = cursor
                    order.append(vector)
                } else if found[vector] == 0 {
                    // An empty witness is correct but reads badly; the shortest non-empty one is better.
                    found[vector] = cursor
                }
            }
            for symbol in alphabet.indices {
                for i in 0..<n { next[i] = dfas[i].step(state[i], symbol, alphabet[symbol]) }
                // Once the universe is left it is never re-entered.
                if universeIndex >= 0 && dfas[universeIndex].isDead(next[universeIndex]) { continue }
                if index[next] == nil {
                    guard states.count < stateLimit else {
                        throw AnalysisLimit("more than \(stateLimit) combined states for \(languages.count) string patterns")
                    }
                    index[next] = states.count
                    states.append(next)
                    parent.append((cursor, symbol))
                }
            }
            cursor += 1
        }
        return order.map { vector in
            var scalars: [Unicode.Scalar] = []
            var at = found[vector]!
            while parent[at].from >= 0 {
                scalars.append(alphabet[parent[at].symbol])
                at = parent[at].from
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars.reversed())
            return Cell(membership: vector, witness: String(text))
        }
    }
}

/// An automaton determinized on demand: state sets get small integer ids, and each
/// (id, symbol) step is computed once.
struct LazyDFA {
    let automaton: ScalarAutomaton
    let alphabetSize: Int
    private var ids: [[Int]: Int32] = [:]
    private var sets: [[Int]] = []
    private(set) var accepting: [Bool] = []
    /// `transitions[id * alphabetSize + symbol]`, -1 until computed.
    private var transitions: [Int32] = []

    init(_ automaton: ScalarAutomaton, alphabetSize: Int) {
        self.automaton = automaton
        self.alphabetSize = alphabetSize
        _ = intern(automaton.initialStates)
    }

    private mutating func intern(_ set: [Int]) -> Int32 {
        if let id = ids[set] { return id }
        let id = Int32(sets.count)
        ids[set] = id
        sets.append(set)
        accepting.append(automaton.accepts(set))
        transitions.append(contentsOf: repeatElement(-1, count: alphabetSize))
        return id
    }

    func isDead(_ id: Int32) -> Bool { sets[Int(id)].isEmpty }

    mutating func step(_ id: Int32, _ symbol: Int, _ scalar: Unicode.Scalar) -> Int32 {
        let slot = Int(id) * alphabetSize + symbol
        let known = transitions[slot]
        if known >= 0 { return known }
        let target = intern(automaton.step(sets[Int(id)], scalar))
        transitions[slot] = target
        return target
    }
}
