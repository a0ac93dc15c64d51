import BulwarkPolicy
import Testing

@Suite("Typed values: decimals, instants, IP ranges, globs")
struct ValueParsingTests {
    @Test func exactDecimals() {
        #expect(ExactDecimal("0.50") == ExactDecimal("0.5"))
        #expect(ExactDecimal("1e3") == ExactDecimal("1000"))
        #expect(ExactDecimal("-0.0") == ExactDecimal("0"))
        #expect(ExactDecimal("100")! > ExactDecimal("99.999999999999999999")!)
        #expect(ExactDecimal("-100")! < ExactDecimal("-99")!)
        #expect(ExactDecimal("0.001")! < ExactDecimal("0.01")!)
        #expect(ExactDecimal("1.5e-1") == ExactDecimal("0.15"))
        #expect(ExactDecimal(".5") == ExactDecimal("0.5"))
        for bad in ["", "-", "abc", "1e", "1.2.3", " 1", "1 ", "0x10", "NaN", "1e1234567890"] {
            #expect(ExactDecimal(bad) == nil, "\(bad)")
        }
    }

    @Test func instants() {
        #expect(Instant("1970-01-01") == Instant(seconds: 0))
        #expect(Instant("2000-03-01T00:00:00Z") == Instant(seconds: 951_868_800))
        #expect(Instant("1969-12-31T23:59:59Z") == Instant(seconds: -1))
        #expect(Instant("2026-01-01T00:00:00+0100") == Instant("2025-12-31T23:00:00Z"))
        #expect(Instant("2026-01-01T00:00:00-05") == Instant("2026-01-01T05:00:00Z"))
        #expect(Instant("1700000000.25") == Instant(seconds: 1_700_000_000, nanoseconds: 250_000_000))
        #expect(Instant("-1.5") == Instant(seconds: -2, nanoseconds: 500_000_000))
        for bad in [
            "", "2026-1-01", "2026-13-01", "2026-02-29", "2026-01-01T24:00:00Z", "2026-01-01T10:00:00Q",
            "2026-01-01 10:00:00", "2026-01-01T10", "tomorrow", "1.", "2026-01-01T10:00:60Z",
        ] {
            #expect(Instant(bad) == nil, "\(bad)")
        }
    }

    @Test func ipRanges() {
        let block = IPAddressRange("192.168.1.77/24")!
        #expect(block.contains(IPAddressRange("192.168.1.0")!))
        #expect(block.contains(IPAddressRange("192.168.1.255")!))
        #expect(!block.contains(IPAddressRange("192.168.2.0")!))
        #expect(IPAddressRange("0.0.0.0/0")!.contains(IPAddressRange("255.255.255.255")!))
        #expect(IPAddressRange("::1")!.isIPv6)
        #expect(IPAddressRange("::ffff:10.0.0.1")! == IPAddressRange("::ffff:a00:1")!)
        #expect(IPAddressRange("2001:db8::/128")!.isSingleAddress)
        #expect(IPAddressRange("fe80::1:2:3:4:5:6")! == IPAddressRange("fe80:0:1:2:3:4:5:6")!)
        for bad in [
            "", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1/33", "10.0.0.1/", "1::2::3", ":::",
            "2001:db8::/129", "1:2:3:4:5:6:7:8:9", "g::1", "10.0.0.1/-1", "fe80::1%eth0",
        ] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func globs() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("*", "anything:at:all", true), ("", "", true), ("", "a", false),
            ("ims:*", "ims:images:get", true), ("ims:*", "swr:repo:upload", false),
            ("*:get", "ims:images:get", true), ("ims:*:get", "ims:images:get", true),
            ("ims:*:get", "ims:get", false), ("ims:?mages:*", "ims:images:list", true),
            ("a*b*c", "abc", true), ("a*b*c", "aXbYc", true), ("a*b*c", "acb", false),
            ("a*b*c", "abcbc", true), ("*a?c*", "xxabcxx", true), ("?", "é", true), ("?", "ab", false),
            ("??", "é", false), ("*é", "café", true), ("a*?", "a", false), ("a*?", "ab", true),
            ("*ab*ab*", "abab", true), ("*ab*ab*", "aab", false), ("x*", "x", true), ("*x", "x", true),
            ("a?*?b", "axyb", true), ("a?*?b", "axb", false),
        ]
        for (pattern, text, expected) in cases {
            #expect(GlobPattern(pattern).matches(text) == expected, "\(pattern) vs \(text)")
        }
    }

    @Test("glob matching stays polynomial on adversarial patterns")
    func adversarialGlob() {
        let pattern = GlobPattern(String(repeating: "*a", count: 40) + "*b")
        let text = String(repeating: "a", count: 20_000)
        #expect(!pattern.matches(text))
        #expect(pattern.matches(text + "b"))
    }

    @Test func simpleLowercasing() {
        #expect(CaseFolding.lowercase("IMS:Images:GET") == "ims:images:get")
        #expect(CaseFolding.lowercase("İSTANBUL").unicodeScalars.count == 8)
        #expect(CaseFolding.lowercase("ÄÖÜ") == "äöü")
    }
}

@Suite("Glob relations")
struct GlobRelationsTests {
    @Test func intersection() {
        #expect(GlobRelations.intersects("ims:*:*:image:*", "ims:cn-north-4:0a1b:image:img-1"))
        #expect(GlobRelations.intersects("a*", "*b"))
        #expect(GlobRelations.intersects("a?c", "*c"))
        #expect(!GlobRelations.intersects("a*", "b*"))
        #expect(!GlobRelations.intersects("abc", "abd"))
        #expect(!GlobRelations.intersects("*/*", "team"))
        #expect(GlobRelations.intersects("", "*"))
        #expect(!GlobRelations.intersects("?", ""))
    }

    @Test func containment() {
        #expect(GlobRelations.contains("*", "anything*"))
        #expect(GlobRelations.contains("ims:*", "ims:images:get"))
        #expect(GlobRelations.contains("ims:images:*", "ims:images:g*"))
        #expect(GlobRelations.contains("ims:*:0a1b:image:*", "ims:*:0a1b:image:img-1"))
        #expect(!GlobRelations.contains("ims:*:0a1b:image:*", "ims:*:9z9z:image:img-1"))
        #expect(!GlobRelations.contains("ims:images:get", "ims:images:*"))
        #expect(!GlobRelations.contains("ims:i*", "*"))
    }

    @Test("containment claims are never wrong on sampled strings")
    func containmentIsSound() {
        let patterns = ["*", "a*", "a:*", "a:b", "*:b", "a:*:c", "a?:*", "ab*", "a:b*", "?:?"]
        let strings = ["", "a", "ab", "a:b", "a:c", "ab:b", "a:b:c", "a:x:c", "x:b", "a:bc", "ax:y"]
        for outer in patterns {
            for inner in patterns where GlobRelations.contains(outer, inner) {
                for s in strings where GlobPattern(inner).matches(s) {
                    #expect(GlobPattern(outer).matches(s), "\(outer) ⊇ \(inner) fails on \(s)")
                }
            }
        }
    }
}

@Suite("Request contexts")
struct RequestContextTests {
    @Test func keysAreCaseInsensitiveAndEmptyListsRemoveThem() {
        var context = RequestContext()
        context.set("g:SourceIp", [.string("10.1.2.3")])
        context.set("G:TAGKEYS", [.string("env")])
        #expect(context["g:sourceip"] == [.string("10.1.2.3")])
        #expect(context.keys == ["G:TAGKEYS", "g:SourceIp"])
        context.set("g:tagkeys", [])
        #expect(context["g:TagKeys"] == nil)
        #expect(context.keys == ["g:SourceIp"])
        context.set("g:SourceIp", [])
        #expect(context.isEmpty)
        context.set("g:TagKeys", [.string("team")])
        #expect(context.keys == ["g:TagKeys"] && !context.isEmpty)
    }

    @Test func theCallersKeysWinOverFilledDefaults() {
        var defaults = RequestContext()
        defaults.set("g:UserName", [.string("alice")])
        defaults.set("g:PrincipalAccount", [.string("0a1b2c")])
        var given = RequestContext()
        given.set("g:username", [.string("mallory")])
        let merged = given.filling(from: defaults)
        #expect(merged["g:UserName"] == [.string("mallory")])
        #expect(merged["g:PrincipalAccount"] == [.string("0a1b2c")])
    }

    /// Past a handful of keys the context keeps a hash table; with many keys (tag keys of a
    /// request, or a hostile one) every key is still found, replaced and removed correctly.
    @Test func manyKeys() {
        var context = RequestContext()
        for i in 0..<20_000 { context.set("g:RequestTag/k\(i)", [.string("v\(i)")]) }
        for i in stride(from: 0, to: 20_000, by: 2) { context.set("g:requesttag/K\(i)", []) }
        context.set("g:RequestTag/k1", [.string("changed")])
        #expect(context.keys.count == 10_000)
        #expect(context["g:RequestTag/k0"] == nil)
        #expect(context["g:RequestTag/k1"] == [.string("changed")])
        #expect(context["g:RequestTag/k19999"] == [.string("v19999")])
        #expect(context.typedValues(normalizedKey: "g:requesttag/k3")?.first?.scalar == .string("v3"))
    }
}
