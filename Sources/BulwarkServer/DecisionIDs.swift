import Synchronization

/// Decision ids in the UUID layout, cheaply: a random prefix drawn once per process (74 bits,
/// version 4 and variant bits set) and a 48-bit counter in the last field. Unique within a
/// process by construction and across replicas by the prefix, without a random draw per
/// decision (`UUID()` reads the system's random source each time, a measurable share of a
/// decision's cost on the server).
final class DecisionIDs: Sendable {
    static let shared = DecisionIDs()

    /// The first 24 hex digits and their dashes: `xxxxxxxx-xxxx-4xxx-yxxx-`.
    private let prefix: [UInt8]
    private let counter = Atomic<UInt64>(0)

    init() {
        var random = SystemRandomNumberGenerator()
        let high = random.next() as UInt64
        let low = random.next() as UInt64
        var digits: [UInt8] = []
        func hex(_ value: UInt64, _ count: Int) {
            for shift in stride(from: (count - 1) * 4, through: 0, by: -4) { digits.append(Self.hexDigits[Int((value >> UInt64(shift)) & 0xF)]) }
        }
        hex(high >> 32, 8)
        digits.append(UInt8(ascii: "-"))
        hex((high >> 16) & 0xFFFF, 4)
        digits.append(UInt8(ascii: "-"))
        hex(0x4000 | (high & 0x0FFF), 4)
        digits.append(UInt8(ascii: "-"))
        hex(0x8000 | (low & 0x3FFF), 4)
        digits.append(UInt8(ascii: "-"))
        prefix = digits
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue & 0xFFFF_FFFF_FFFF
        return String(unsafeUninitializedCapacity: 36) { buffer in
            for (i, byte) in prefix.enumerated() { buffer[i] = byte }
            for i in 0..<12 { buffer[24 + i] = Self.hexDigits[Int((n >> UInt64((11 - i) * 4)) & 0xF)] }
            return 36
        }
    }
}
