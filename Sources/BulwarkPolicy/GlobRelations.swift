/// Relations between two glob patterns, decided over Unicode scalars.
public enum GlobRelations {
    /// Whether some string matches both patterns.
    ///
    /// A dynamic program over positions (i in a, j in b): a star may match
    /// nothing (advance past it) or swallow one scalar the other side produces.
    /// O(|a| × |b|) time and space.
    public static func intersects(_ a: String, _ b: String) -> Bool {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        let width = y.count + 1
        // reachable[i * width + j]: the suffixes x[i...] and y[j...] share a match.
        var memo = [UInt8](repeating: 0, count: (x.count + 1) * width)  // 0 unknown, 1 no, 2 yes
        var stack: [(Int, Int)] = []
        func solve(_ i0: Int, _ j0: Int) -> Bool {
            stack.append((i0, j0))
            while let (i, j) = stack.last {
                let index = i * width + j
                if memo[index] != 0 {
                    stack.removeLast()
                    continue
                }
                var successors: [(Int, Int)] = []
                if i == x.count && j == y.count {
                    memo[index] = 2
                    stack.removeLast()
                    continue
                }
                let xStar = i < x.count && x[i] == "*"
                let yStar = j < y.count && y[j] == "*"
                if xStar { successors.append((i + 1, j)) }
                if yStar { successors.append((i, j + 1)) }
                if xStar && j < y.count && !yStar { successors.append((i, j + 1)) }
                if yStar && i < x.count && !xStar { successors.append((i + 1, j)) }
                if i < x.count && j < y.count && !xStar && !yStar && (x[i] == y[j] || x[i] == "?" || y[j] == "?") {
                    successors.append((i + 1, j + 1))
                }
                var pending = false
                var found = false
                for (si, sj) in successors {
                    switch memo[si * width + sj] {
                    case 2: found = true
                    case 0:
                        pending = true
                        stack.append((si, sj))
                    default: break
                    }
                    if found { break }
                }
                if found {
                    memo[index] = 2
                    stack.removeLast()
                } else if !pending {
                    memo[index] = 1
                    stack.removeLast()
                }
            }
            return memo[i0 * width + j0] == 2
        }
        return solve(0, 0)
    }

    /// A sound (never wrong when true) test that every string matching `inner` matches `outer`.
    ///
    /// Exact for the shapes policies use: `*`, literals, a literal prefix followed
    /// by `*`, and URN-like patterns compared segment by segment at `:` (if every
    /// segment of `inner` is contained in the same segment of `outer`, so is the
    /// whole, whatever the stars match). Other shapes answer false when unsure.
    public static func contains(_ outer: String, _ inner: String) -> Bool {
        // Every inner string starts with inner's literal prefix, every outer one with outer's:
        // if those prefixes disagree, nothing of inner is in outer.
        if literalPrefixesDisagree(outer, inner) { return false }
        if containsWhole(outer, inner) { return true }
        let outerFields = ColonFields(outer)
        let innerFields = ColonFields(inner)
        guard outerFields.count > 1, outerFields.count == innerFields.count else { return false }
        return zip(outerFields.strings, innerFields.strings).allSatisfy { containsWhole($0, $1) }
    }

    private static func literalPrefixesDisagree(_ outer: String, _ inner: String) -> Bool {
        var a = outer
        var b = inner
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                var i = 0
                while i < n {
                    let p = x[i]
                    let q = y[i]
                    if Wildcard.isWildcard(p) || Wildcard.isWildcard(q) { return false }
                    if p != q { return true }
                    i += 1
                }
                return false
            }
        }
    }

    private static func containsWhole(_ outer: String, _ inner: String) -> Bool {
        if outer == inner { return true }
        let outerGlob = GlobPattern(outer)
        if outerGlob.matchesEverything { return true }
        let innerGlob = GlobPattern(inner)
        if innerGlob.isLiteral { return outerGlob.matches(inner) }
        // outer = P* (P literal): inner's strings all start with inner's literal prefix.
        if outer.hasSuffix("*"), !Wildcard.occurs(in: outer.utf8.dropLast()) {
            return innerGlob.literalPrefix.unicodeScalars.starts(with: outerGlob.literalPrefix.unicodeScalars)
        }
        return false
    }
}
