import BulwarkPolicy

/// A nondeterministic automaton over Unicode scalars, for the string languages
/// policies talk about: literals, globs, case-insensitive literals, prefixes,
/// suffixes and URN templates.
///
/// Analysis never decides membership with it (the engine's own matchers do
/// that); it only finds which combinations of languages a string can fall in,
/// and one string for each.
@_spi(Testing) public struct ScalarAutomaton: Sendable {
    /// What an edge accepts (plain values, so walking edges never touches reference counts).
    enum Label: Sendable, Hashable {
        case scalar(Unicode.Scalar)
        case any
        /// Any scalar but this one (URN placeholders never contain `:`).
        case anyBut(Unicode.Scalar)

        func accepts(_ s: Unicode.Scalar) -> Bool {
            switch self {
            case .scalar(let x): x == s
            case .any: true
            case .anyBut(let x): x != s
            }
        }

        /// Scalars this label treats differently from "any other scalar".
        var mentioned: [Unicode.Scalar] {
            switch self {
            case .scalar(let x): [x]
            case .any: []
            case .anyBut(let x): [x]
            }
        }
    }

    private(set) var edges: [[(label: Label, target: Int)]] = [[]]
    private(set) var epsilons: [[Int]] = [[]]
    private(set) var accepting: [Bool] = [false]
    /// True when some state other than the start has epsilon moves.
    private(set) var epsilonsAfterStart = false
    let start = 0

    private mutating func addState() -> Int {
        edges.append([])
        epsilons.append([])
        accepting.append(false)
        return edges.count - 1
    }

    /// Appends a chain for `scalars` (each with its own label) after `from`; returns the last state.
    private mutating func chain(from: Int, _ labels: [Label]) -> Int {
        var current = from
        for label in labels {
            let next = addState()
            edges[current].append((label, next))
            current = next
        }
        return current
    }

    private mutating func loop(at state: Int, _ label: Label) { edges[state].append((label, state)) }

    /// The language of exactly `text`.
    @_spi(Testing) public static func literal(_ text: String) -> ScalarAutomaton {
        var a = ScalarAutomaton()
        a.accepting[a.chain(from: a.start, text.unicodeScalars.map(Label.scalar))] = true
        return a
    }

    /// Strings whose simple lowercase form is `folded` (which is already lowercase).
    static func caseInsensitive(_ folded: String) -> ScalarAutomaton {
        var a = ScalarAutomaton()
        var current = a.start
        for s in folded.unicodeScalars {
            let next = a.addState()
            // One parallel edge per scalar that lowercases to `s`.
            for p in CasePreimages.of(s) { a.edges[current].append((.scalar(p), next)) }
            current = next
        }
        a.accepting[current] = true
        return a
    }

    /// The language of a glob: `*` any run of scalars, `?` exactly one.
    @_spi(Testing) public static func glob(_ pattern: String) -> ScalarAutomaton {
        var a = ScalarAutomaton()
        var current = a.start
        for piece in GlobPattern.pieces(of: pattern) {
            switch piece {
            case .anyRun: a.loop(at: current, .any)
            case .anyOne: current = a.chain(from: current, [.any])
            case .scalar(let s): current = a.chain(from: current, [.scalar(s)])
            }
        }
        a.accepting[current] = true
        return a
    }

    static func prefix(_ text: String) -> ScalarAutomaton { glob(escapingNothing: text, leadingStar: false) }
    static func suffix(_ text: String) -> ScalarAutomaton { glob(escapingNothing: text, leadingStar: true) }

    /// `text*` or `*text` with `text` literal (wildcard characters in it are plain characters).
    private static func glob(escapingNothing text: String, leadingStar: Bool) -> ScalarAutomaton {
        var a = ScalarAutomaton()
        if leadingStar { a.loop(at: a.start, .any) }
        let end = a.chain(from: a.start, text.unicodeScalars.map(Label.scalar))
        if !leadingStar { a.loop(at: end, .any) }
        a.accepting[end] = true
        return a
    }

    /// A catalog URN template such as `ims:<region>:<account-id>:image:<image-id>`:
    /// each `<placeholder>` is one or more scalars other than `:`.
    @_spi(Testing) public static func urnTemplate(_ template: String) -> ScalarAutomaton {
        var a = ScalarAutomaton()
        var current = a.start
        var inPlaceholder = false
        for s in template.unicodeScalars {
            if inPlaceholder {
                if s == ">" {
                    inPlaceholder = false
                    current = a.chain(from: current, [.anyBut(":")])
                    a.loop(at: current, .anyBut(":"))
                }
            } else if s == "<" {
                inPlaceholder = true
            } else {
                current = a.chain(from: current, [.scalar(s)])
            }
        }
        a.accepting[current] = true
        return a
    }

    /// The union of several automata.
    static func union(_ parts: [ScalarAutomaton]) -> ScalarAutomaton {
        guard parts.count != 1 else { return parts[0] }
        var a = ScalarAutomaton()
        for part in parts {
            let offset = a.edges.count
            for i in part.edges.indices {
                a.edges.append(part.edges[i].map { ($0.label, $0.target + offset) })
                a.epsilons.append(part.epsilons[i].map { $0 + offset })
                a.accepting.append(part.accepting[i])
            }
            a.epsilons[a.start].append(part.start + offset)
            if part.epsilons.contains(where: { !$0.isEmpty }) { a.epsilonsAfterStart = true }
        }
        return a
    }

    /// Every scalar some edge singles out.
    var mentionedScalars: Set<Unicode.Scalar> {
        Set(edges.joined().flatMap(\.label.mentioned))
    }

    /// The states reachable from `states` by epsilon moves, sorted.
    func closure(_ states: [Int]) -> [Int] {
        var seen = Set(states)
        var stack = states
        while let s = stack.popLast() {
            for t in epsilons[s] where seen.insert(t).inserted { stack.append(t) }
        }
        return seen.sorted()
    }

    var initialStates: [Int] { closure([start]) }

    /// The closed set of states after reading `scalar` from `states`.
    func step(_ states: [Int], _ scalar: Unicode.Scalar) -> [Int] {
        var next: [Int] = []
        for s in states {
            for edge in edges[s] where edge.label.accepts(scalar) { next.append(edge.target) }
        }
        if next.isEmpty { return [] }
        // A union's epsilon moves leave its fresh start state, which no edge enters: after a
        // step, closure matters only when a part was itself a union.
        if !epsilonsAfterStart {
            next.sort()
            var unique: [Int] = []
            unique.reserveCapacity(next.count)
            for t in next where unique.last != t { unique.append(t) }
            return unique
        }
        return closure(next)
    }

    func accepts(_ states: [Int]) -> Bool { states.contains { accepting[$0] } }
}

/// Which scalars lowercase to a given one, so case-insensitive languages are exact.
enum CasePreimages {
    /// Every scalar whose simple lowercase form is `s` (including `s` itself when it is lowercase).
    static func of(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        if s.isASCII {
            var result: [Unicode.Scalar] = [s]
            if s.properties.isLowercase, let upper = Unicode.Scalar(s.value - 0x20) { result.append(upper) }
            // The only non-ASCII scalars whose simple lowercase form is ASCII (checked by a test over all scalars).
            if s == "k" { result.append("\u{212A}") }
            if s == "i" { result.append("\u{0130}") }
            return result
        }
        // Rare: scan the scalars once for this one.
        var result: [Unicode.Scalar] = []
        for v in UInt32(0x80)...0x10FFFF {
            if let x = Unicode.Scalar(v), CaseFolding.lowercase(x) == s { result.append(x) }
        }
        if CaseFolding.lowercase(s) == s, !result.contains(s) { result.append(s) }
        return result
    }
}
