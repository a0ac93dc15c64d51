/// A set of cells of one variable (the resource, or one condition key), as a bitset.
struct CellSet: Sendable, Hashable {
    private(set) var words: [UInt64]
    let count: Int

    init(count: Int, all: Bool) {
        self.count = count
        let n = (count + 63) / 64
        words = Array(repeating: all ? ~0 : 0, count: n)
        if all, count % 64 != 0 { words[n - 1] = (UInt64(1) << UInt64(count % 64)) - 1 }
    }

    init(count: Int, members: some Sequence<Int>) {
        self.init(count: count, all: false)
        for i in members { insert(i) }
    }

    mutating func insert(_ i: Int) { words[i >> 6] |= UInt64(1) << UInt64(i & 63) }
    func contains(_ i: Int) -> Bool { words[i >> 6] & (UInt64(1) << UInt64(i & 63)) != 0 }
    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
    var isFull: Bool { self == CellSet(count: count, all: true) }
    var first: Int? { members.first }
    var members: [Int] { (0..<count).filter(contains) }

    func intersection(_ o: CellSet) -> CellSet { zip(o) { $0 & $1 } }
    func subtracting(_ o: CellSet) -> CellSet { zip(o) { $0 & ~$1 } }
    func isSubset(of o: CellSet) -> Bool { subtracting(o).isEmpty }

    private func zip(_ o: CellSet, _ f: (UInt64, UInt64) -> UInt64) -> CellSet {
        var r = self
        for i in r.words.indices { r.words[i] = f(words[i], o.words[i]) }
        return r
    }
}

/// A product of cell sets, one per variable: every combination of their cells.
struct Box: Sendable, Hashable {
    var sets: [CellSet]

    var isEmpty: Bool { sets.contains(where: \.isEmpty) }

    func intersection(_ o: Box) -> Box? {
        var r = self
        for i in sets.indices {
            r.sets[i] = sets[i].intersection(o.sets[i])
            if r.sets[i].isEmpty { return nil }
        }
        return r
    }

    /// `self` minus `o`, as disjoint boxes: peel off one variable at a time.
    func subtracting(_ o: Box) -> [Box] {
        guard intersection(o) != nil else { return [self] }
        var pieces: [Box] = []
        var rest = self
        for i in sets.indices {
            let outside = rest.sets[i].subtracting(o.sets[i])
            if !outside.isEmpty {
                var piece = rest
                piece.sets[i] = outside
                pieces.append(piece)
            }
            rest.sets[i] = rest.sets[i].intersection(o.sets[i])
        }
        return pieces
    }
}

/// A union of disjoint boxes.
struct Region: Sendable {
    private(set) var boxes: [Box] = []

    init() {}
    init(_ boxes: [Box]) { for b in boxes { formUnion(b) } }

    var isEmpty: Bool { boxes.isEmpty }

    mutating func formUnion(_ box: Box) {
        guard !box.isEmpty else { return }
        var fresh = [box]
        for existing in boxes {
            fresh = fresh.flatMap { $0.subtracting(existing) }
            if fresh.isEmpty { return }
        }
        boxes += fresh
    }

    func subtracting(_ box: Box) -> Region {
        var r = Region()
        r.boxes = boxes.flatMap { $0.subtracting(box) }
        return r
    }

    func subtracting(_ other: Region) -> Region {
        other.boxes.reduce(self) { $0.subtracting($1) }
    }

    func intersection(_ other: Region) -> Region {
        var r = Region()
        // Pieces of two disjoint unions are disjoint already.
        for a in boxes { for b in other.boxes { if let c = a.intersection(b) { r.boxes.append(c) } } }
        return r
    }
}
