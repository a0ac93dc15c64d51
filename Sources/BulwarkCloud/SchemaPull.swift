public import BulwarkCatalog
import BulwarkJSON
import Foundation

/// `bulwark catalog pull` (SPEC §12): Huawei IAM's authorization schemas fetched with signed
/// calls, checked as catalogs, and written one file per service.
public enum SchemaPull {
    /// Every service code IAM has a schema for (`GET /v5/authorization-schemas/registered-services`,
    /// following `page_info.next_marker`).
    public static func registeredServices(_ client: SignedClient) async throws(CloudError) -> [String] {
        let path = "/v5/authorization-schemas/registered-services"
        return try await client.all(path, query: [("limit", "200")], list: "service_codes").map { item throws(CloudError) in
            guard case .string(let code) = item.node.value else { throw CloudError("GET \(path): \(item.path) is not a string") }
            return code
        }
    }

    /// Fetches each service's schema, checks them all as catalogs merged into `builtIn`, and
    /// writes `DIR/CODE.json` (the documents as received) only when every one is sound: a
    /// failed call or a broken document writes nothing. Progress goes to `progress`.
    public static func pull(
        services: [String], client: SignedClient, into directory: String, builtIn: Catalog, progress: @Sendable (String) -> Void
    ) async throws(CloudError) -> LoadedCatalog {
        var files: [CatalogFile] = []
        // A code given twice is fetched once.
        var unique: [String] = []
        for code in services where !unique.contains(code) { unique.append(code) }
        let services = unique
        for (i, code) in services.enumerated() {
            guard !code.isEmpty, code.utf8.count <= 56, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw CloudError("\"\(code)\" is not a service code (1 to 56 letters, digits and -)")
            }
            progress("pull: \(i + 1)/\(services.count) \(code)")
            let body = try await client.get("/v5/authorization-schemas/services/\(code)")
            files.append(CatalogFile(name: "\(directory)/\(code).json", bytes: body))
        }
        let loaded: LoadedCatalog
        do { loaded = try builtIn.merging(files) } catch {
            throw CloudError("the cloud's schemas do not load; nothing written:\n\(error)")
        }
        for (file, code) in zip(files, services) {
            guard let service = loaded.catalog.services.first(where: { $0.source == file.name }), service.name.lowercased() == code.lowercased()
            else {
                throw CloudError("GET /v5/authorization-schemas/services/\(code): the schema describes another service; nothing written")
            }
        }
        // Each CODE.json is swapped in; the folder's other files stay.
        var written: [String: [UInt8]] = [:]
        for file in files { written[URL(fileURLWithPath: file.name).lastPathComponent] = file.bytes }
        try StagedWrite.write(written, into: directory, owning: written.keys.sorted(), what: "the schemas")
        return loaded
    }
}
