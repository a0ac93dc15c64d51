import BulwarkCatalog
import BulwarkValidation
import Foundation
import Testing

/// docs/findings: one page per finding code, whose example raises the code and whose fix
/// does not (the pages are written by scripts/docs/findings.py; this keeps them true).
@Suite("docs/findings")
struct FindingDocsTests {
    /// The pages validate with `--catalog examples/catalogs` (the example third service) where they say so.
    static let validator = PolicyValidator(catalog: catalogWithEVS)

    /// The ```json blocks of a page, in order.
    static func jsonBlocks(_ page: String) -> [String] {
        page.components(separatedBy: "```json\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
    }

    @Test(arguments: FindingCode.allCases)
    func everyCodeHasAPageWhoseExampleRaisesItAndWhoseFixDoesNot(code: FindingCode) throws {
        let url = packageRoot().appendingPathComponent("docs/findings/\(code.rawValue).md")
        let page = try String(contentsOf: url, encoding: .utf8)
        let blocks = Self.jsonBlocks(page)
        try #require(blocks.count == 2, "\(code.rawValue).md needs an example and a fix")
        let type: PolicyType = page.contains("--type scp") ? .scp : page.contains("--type trust") ? .trust : .identity
        // The page shortens the oversized example; the test writes it out in full.
        let example = blocks[0].replacingOccurrences(of: "xxxx… (6,100 characters)", with: String(repeating: "x", count: 6_100))
        #expect(Self.validator.validate(example, type: type).contains { $0.code == code }, "the example of \(code.rawValue).md")
        #expect(!Self.validator.validate(blocks[1], type: type).contains { $0.code == code }, "the fix of \(code.rawValue).md")
        let index = try String(contentsOf: packageRoot().appendingPathComponent("docs/findings/README.md"), encoding: .utf8)
        #expect(index.contains("(\(code.rawValue).md)"))
    }
}
