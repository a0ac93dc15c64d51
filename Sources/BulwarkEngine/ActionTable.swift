import BulwarkPolicy

/// Case-folded action name → action id: an open-addressing table over the names' UTF-8 with
/// `KeyHash`, because the lookup runs once per decision and a `Dictionary` of `String` costs
/// a seeded SipHash and, for names over 15 bytes, a bridged comparison.
struct ActionTable: Sendable {
    /// Per slot: the id + 1 of the action filed there, 0 when empty.
    private let slots: [Int32]
    private let hashes: [UInt64]
    /// Names back to back; name `i` is `bytes[offsets[i]..<offsets[i+1]]`.
    private let bytes: [UInt8]
    private let offsets: [Int32]

    /// `names` must be distinct; their positions are the ids.
    init(_ names: [String]) {
        var capacity = 16
        while capacity < names.count * 2 { capacity *= 2 }
        var slots = Array(repeating: Int32(0), count: capacity)
        var hashes = Array(repeating: UInt64(0), count: capacity)
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        for (id, name) in names.enumerated() {
            bytes += name.utf8
            offsets.append(Int32(bytes.count))
            let hash = KeyHash.of(name)
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(id + 1)
            hashes[slot] = hash
        }
        self.slots = slots
        self.hashes = hashes
        self.bytes = bytes
        self.offsets = offsets
    }

    private static func equal(_ bytes: [UInt8], _ start: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { stored in
            var i = 0
            while i < key.count {
                if stored[start + i] != key[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// The id of a case-folded action name, or nil when it is not in the table.
    func id(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { key in
            let hash = KeyHash.of(utf8: key)
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return nil }
                if hashes[slot] == hash {
                    let start = Int(offsets[entry - 1])
                    let end = Int(offsets[entry])
                    if end - start == key.count && Self.equal(bytes, start, key) { return entry - 1 }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Whether `id` is the id of `name` here: a byte comparison, no hashing, so a part of an
    /// authorizer can check the id another part found (the same catalog numbers actions alike).
    func has(_ id: Int, for name: String) -> Bool {
        guard id >= 0, id < offsets.count - 1 else { return false }
        var name = name
        return name.withUTF8 { key in
            let start = Int(offsets[id])
            return Int(offsets[id + 1]) - start == key.count && Self.equal(bytes, start, key)
        }
    }
}
