/// Comparing secrets without leaking where they differ.
package enum ConstantTime {
    /// Time depends only on the length of `expected`, never on where the inputs differ.
    package static func equal(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in expected.indices { difference |= (i < given.count ? given[i] : 0) ^ expected[i] }
        return difference == 0
    }
}
