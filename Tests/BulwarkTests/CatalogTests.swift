import BulwarkCatalog
import Foundation
import Testing

@Suite("Catalog data files against the seeds")
struct CatalogTests {
    let catalog: Catalog

    init() throws { catalog = try Catalog.bundled() }

    @Test func countsMatchTheSeeds() throws {
        let ims = try #require(catalog.service(named: "ims"))
        let swr = try #require(catalog.service(named: "swr"))
        #expect(ims.actions.count == 26)
        #expect(ims.apis.count == 33)
        #expect(ims.resourceTypes.map(\.name) == ["image"])
        #expect(ims.conditionKeys.count == 4)
        #expect(swr.actions.count == 54)
        #expect(swr.apis.count == 25)
        #expect(swr.resourceTypes.map(\.name) == ["repo", "repository", "instance", "namespace"])
        #expect(swr.conditionKeys.count == 9)
        #expect(catalog.issues.allSatisfy { $0.severity == .note })
        #expect(catalog.issues.count == 5)
    }

    @Test func spotRows() throws {
        let share = try #require(catalog.action(named: "ims:images:share"))
        #expect(share.accessLevel == .permissionManagement)
        #expect(share.resourceTypes == ["image"])
        #expect(share.conditionKeys == ["ims:TargetOrgPaths"])
        let create = try #require(catalog.action(named: "IMS:wholeImages:CREATE"))
        #expect(create.conditionKeys == ["g:EnterpriseProjectId", "g:RequestTag/<tag-key>", "g:TagKeys"])
        let domain = try #require(catalog.action(named: "swr:repo:createRepoDomain"))
        #expect(domain.conditionKeys == ["swr:TargetAccountId", "swr:TargetOrgPath", "swr:TargetOrgId"])
        #expect(catalog.action(named: "swr::createLoginSecret")?.resourceTypes == [])
        #expect(catalog.action(named: "swr:namespace:listNamespaces")?.accessLevel == .list)
        #expect(catalog.isKnownAction("obs:object:GetObject"))
        #expect(catalog.action(named: "obs:object:GetObject") == nil)
        let ims = try #require(catalog.service(named: "ims"))
        let quick = ims.apis.filter { $0.path == "/v2/cloudimages/quickimport/action" }
        #expect(quick.map(\.action) == ["ims:dataImages:create", "ims:serverImages:create", "ims:images:import"])
        #expect(quick.compactMap(\.requiredOnly?.id) == ["data-disk-import", "system-disk-import"])
        let importRow = try #require(quick.last)
        #expect(importRow.dependencies == ["ims:dataImages:create", "ims:serverImages:create"])
        #expect(
            ims.apis.compactMap(\.requiredOnly).map(\.id).sorted()
                == ["data-disk-import", "enterprise-project-migration", "enterprise-project-user", "system-disk-import"])
        #expect(ims.apis.filter { $0.method == "PATCH" && $0.path == "/v2/cloudimages/{image_id}" }.count == 2)
        #expect(catalog.resourceType("repo", in: "swr")?.urn == "swr:<region>:<account-id>:repo:<namespace-name>/<repo-name>")
    }

    @Test func globalKeys() throws {
        #expect(catalog.conditionKey(named: "g:SourceIp")?.type == .ip)
        #expect(catalog.conditionKey(named: "g:currenttime")?.type == .date)
        #expect(catalog.conditionKey(named: "g:ResourceTag/env")?.name == "g:ResourceTag/<tag-key>")
        #expect(catalog.conditionKey(named: "g:ResourceTag/") == nil)
        #expect(catalog.conditionKey(named: "g:TagKeys")?.multiValued == true)
        #expect(catalog.conditionKey(named: "g:PrincipalUrn")?.sensitive == true)
        #expect(catalog.conditionKey(named: "ims:TargetOrgPaths")?.multiValued == true)
    }

    @Test func brokenCatalogIsReportedNotCrashedOn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("services"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"conditionKeys":[{"name":"g:SourceIp","type":"ip","multiValued":false}]}"#
            .write(to: dir.appendingPathComponent("global-keys.json"), atomically: true, encoding: .utf8)
        let service = """
            {"name":"xyz","title":"X","updated":"2026-01-01","resourceTypes":[],"conditionKeys":[],
             "actions":[{"name":"xyz:a:get","description":"d","accessLevel":"read","resourceTypes":["nope"],"conditionKeys":["xyz:Missing"]},
                        {"name":"xyz:a:get","description":"d","accessLevel":"read","resourceTypes":[],"conditionKeys":[]},
                        {"name":"xyz:a:put","description":"d","accessLevel":"admin","resourceTypes":[],"conditionKeys":[]}],
             "apis":[{"method":"GET","path":"/a","action":"xyz:a:get","dependencies":["xyz:a:ghost"]}],
             "referencedActions":[],
             "requestFields":[{"name":"tags","apis":["GET /a","POST /a"]},{"name":"tags","apis":[]}]}
            """
        try service.write(to: dir.appendingPathComponent("services/xyz.json"), atomically: true, encoding: .utf8)
        let loaded = try Catalog.load(directory: dir.path)
        let messages = loaded.issues.map(\.message)
        #expect(messages.contains { $0.contains("unknown access level \"admin\"") })
        #expect(messages.contains { $0.contains("duplicate action xyz:a:get") })
        #expect(messages.contains { $0.contains("unknown resource type nope") })
        #expect(messages.contains { $0.contains("unknown condition key xyz:Missing") })
        #expect(messages.contains { $0.contains("depends on xyz:a:ghost, which is neither") })
        #expect(messages.contains { $0.contains("request field tags names POST /a, which is no API row of xyz") })
        #expect(messages.contains { $0.contains("request field tags is listed twice") })
        #expect(!messages.contains { $0.contains("GET /a, which") })

        try "{ not json".write(to: dir.appendingPathComponent("services/xyz.json"), atomically: true, encoding: .utf8)
        #expect(throws: CatalogLoadError.self) { try Catalog.load(directory: dir.path) }
    }

    @Test func requestFieldsAreCatalogData() throws {
        let catalog = try Catalog.bundled()
        let ims = try #require(catalog.service(named: "ims"))
        #expect(
            ims.requestFields.first { $0.name == "images" }?.apis == [
                "POST /v1/cloudimages/members", "PUT /v1/cloudimages/members", "DELETE /v1/cloudimages/members",
            ])
        #expect(catalog.service(named: "swr")?.requestFields.map(\.name) == ["access_domain"])
    }
}
