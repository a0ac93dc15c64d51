import BulwarkJSON
import Testing

@Suite("JSON reader")
struct JSONReaderTests {
    @Test func locationsCountUnicodeScalars() throws {
        var reader = JSONReader(text: "{\"é\": \"ü\",\n  \"b\": [1, 2.50, true, null]}")
        let node = try reader.readDocument()
        guard case .object(let members) = node.value else {
            Issue.record("not an object")
            return
        }
        #expect(members[0].value.location == SourceLocation(line: 1, column: 7))
        #expect(members[1].keyLocation == SourceLocation(line: 2, column: 3))
        guard case .array(let items) = members[1].value.value, case .number(let n) = items[1].value else {
            Issue.record("not an array")
            return
        }
        #expect(n == "2.50")
        #expect(items[3].location == SourceLocation(line: 2, column: 24))
    }

    @Test func offsetsLocateLikeTheReader() throws {
        // Every value's offset, located afterwards in one pass, is where the reader says it is.
        let text = "{\n  \"é\": [1, \"ü\",\n   {\"k\": true}],\r\n\t\"z\": null }"
        var reader = JSONReader(text: text)
        var offsets: [Int] = []
        var expected: [BulwarkJSON.SourceLocation] = []
        func note(_ reader: inout JSONReader) {
            expected.append(reader.peekLocation())
            offsets.append(reader.peekOffset())
        }
        try reader.beginObject()
        while try reader.nextKey() != nil {
            note(&reader)
            if reader.peekKind() == .array {
                try reader.beginArray()
                while try reader.nextElement() {
                    note(&reader)
                    _ = try reader.readValue()
                }
            } else {
                _ = try reader.readValue()
            }
        }
        #expect(JSONReader.locations(ofOffsets: offsets.reversed(), in: Array(text.utf8)) == expected.reversed())
        #expect(expected.map(\.line) == [2, 2, 2, 3, 4])
    }

    @Test func keySetsMatchPlainAndEscapedKeys() throws {
        let keys = JSONKeySet(["name", "names", "n"])
        var reader = JSONReader(text: #"{"names": 1, "n\u0061me": 2, "n": 3, "other": 4, "nam": 5}"#)
        try reader.beginObject()
        var seen: [Int] = []
        while let (index, _) = try reader.nextKey(in: keys) {
            seen.append(index)
            _ = try reader.readValue()
        }
        #expect(seen == [1, 0, 2, 3, 3])
    }

    @Test func matchStringReadsListedValuesInPlace() throws {
        let levels = JSONKeySet(["list", "read", "write"])
        var reader = JSONReader(text: #"["read", "wri\u0074e", "lists", 7, "list"]"#)
        try reader.beginArray()
        var seen: [String] = []
        while try reader.nextElement() {
            if let index = reader.matchString(in: levels) {
                seen.append("#\(index)")
            } else {
                // Not matched: nothing was consumed, the value reads as usual.
                switch try reader.readValue().value {
                case .string(let text): seen.append(text)
                case let other: seen.append(other.typeName)
                }
            }
        }
        #expect(seen == ["#1", "write", "lists", "number", "#0"])
    }

    @Test func stringsScannedByWordsReadLikeByteByByte() throws {
        // Strings are scanned eight bytes at a time up to a special byte: put one at every
        // position of strings of every length around a word, and a word boundary anywhere.
        let specials: [(written: String, decoded: String)] = [
            (#"\""#, "\""), (#"\\"#, "\\"), (#"\u0001"#, "\u{1}"), ("é", "é"), ("😀", "😀"), ("\u{7F}", "\u{7F}"),
        ]
        for padding in 0..<8 {
            for length in 0..<20 {
                for position in 0...length {
                    for special in specials {
                        let plain = String(repeating: "a", count: length)
                        let index = plain.index(plain.startIndex, offsetBy: position)
                        let written = plain[..<index] + special.written + plain[index...]
                        let decoded = plain[..<index] + special.decoded + plain[index...]
                        var reader = JSONReader(text: String(repeating: " ", count: padding) + "\"\(written)\"")
                        guard case .string(let text) = try reader.readDocument().value else {
                            Issue.record("not a string: \(written)")
                            continue
                        }
                        #expect(text == String(decoded), "\(written)")
                    }
                    // A raw control character or a byte that is not UTF-8, wherever it is, is refused.
                    for bad: UInt8 in [0x0A, 0x1F, 0xFF, 0xC3] {
                        var bytes = Array(String(repeating: " ", count: padding).utf8) + [0x22] + Array(repeating: 0x61, count: length) + [0x22]
                        bytes.insert(bad, at: padding + 1 + position)
                        var reader = JSONReader(bytes: bytes)
                        #expect(throws: JSONSyntaxError.self) { try reader.readDocument() }
                    }
                }
            }
        }
    }

    @Test func escapesDecode() throws {
        var reader = JSONReader(text: #""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#)
        guard case .string(let s) = try reader.readDocument().value else { return }
        #expect(s == "a\"\\/\u{8}\u{c}\n\r\té😀")
    }

    @Test(
        "errors name the path, line and column",
        arguments: [
            ("{\"a\": [1, 2,]}", "$.a[2]", 1, 13),
            ("{\"a\": 1, \"a\": 2}", "$.a", 1, 10),
            ("{\"a\": tru}", "$.a", 1, 7),
            ("{\"a\": \"x\ny\"}", "$.a", 1, 9),
            ("[1] [2]", "$", 1, 5),
            ("{\"a\": 01}", "$.a", 1, 8),
            ("{\"a\": \"\\ud800\"}", "$.a", 1, 14),
            ("{\"a\" 1}", "$.a", 1, 6),
            ("", "$", 1, 1),
            ("{\"Statement\": [{\"Effect\": \"Allow\",\n \"Action\": [\"a\" \"b\"]}]}", "$.Statement[0].Action[0]", 2, 17),
        ])
    func syntaxErrors(text: String, path: String, line: Int, column: Int) {
        var reader = JSONReader(text: text)
        do {
            _ = try reader.readDocument()
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.path.description == path, "\(error)")
            #expect(error.location == SourceLocation(line: line, column: column), "\(error)")
        }
    }

    @Test func depthLimitIsEnforced() {
        var reader = JSONReader(text: String(repeating: "[", count: 100_000))
        #expect(throws: JSONSyntaxError.self) { try reader.readDocument() }
        var ok = JSONReader(text: String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        #expect(throws: Never.self) { try ok.readDocument() }
    }

    @Test func invalidUTF8IsRefused() {
        var reader = JSONReader(bytes: [0x22, 0xFF, 0x22])
        #expect(throws: JSONSyntaxError.self) { try reader.readDocument() }
    }

    @Test func pathRendering() {
        let path = JSONPath([.key("Statement"), .index(0), .key("Condition"), .key("g:SourceIp")])
        #expect(path.description == #"$.Statement[0].Condition["g:SourceIp"]"#)
    }

    @Test func writerRoundTrips() throws {
        let text = #"{"a":[1,"x\"y",true,null,{"b":-2.5e3}],"c":"\u0001"}"#
        var reader = JSONReader(text: text)
        var writer = JSONWriter()
        writer.value(try reader.readDocument().value)
        #expect(writer.text == text)
    }
}
