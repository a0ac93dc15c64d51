import BulwarkAPI
import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy
import Testing

@Suite("API-level authorization (SPEC §4)")
struct APIAuthorizationTests {
    static let catalog = try! Catalog.bundled()

    func plan(_ service: String, _ method: String, _ path: String, cases: [String] = [], resource: String? = nil) throws(APIAuthorizationError)
        -> APIPlan
    {
        try APIRouter(catalog: Self.catalog).plan(
            APIRequest(service: service, method: method, path: path, region: "cn-north-4", accountID: "0a1b2c", cases: cases, resource: resource))
    }

    /// The error message of a call that must fail; nil when it did not.
    func failure(_ service: String, _ method: String, _ path: String, cases: [String] = []) -> String? {
        do {
            _ = try plan(service, method, path, cases: cases)
            return nil
        } catch {
            return error.message
        }
    }

    func pairs(_ p: APIPlan) -> [String] { p.checks.map { "\($0.action) \($0.resource)" } }

    @Test func quickImportNeedsImportAndBothDiskActions() throws {
        let p = try plan("ims", "POST", "/v2/cloudimages/quickimport/action")
        #expect(pairs(p) == ["ims:images:import *", "ims:dataImages:create *", "ims:serverImages:create *"])
        #expect(p.notApplied.compactMap(\.requiredOnly?.id) == ["data-disk-import", "system-disk-import"])
        // Naming a case applies its row; each (action, resource) pair is still checked once.
        let both = try plan("ims", "POST", "/v2/cloudimages/quickimport/action", cases: ["data-disk-import", "system-disk-import"])
        #expect(both.checks.count == 3)
        #expect(both.notApplied.isEmpty)
    }

    @Test func enterpriseProjectMigrationAddsServerImagesCreate() throws {
        let plain = try plan("ims", "PATCH", "/v2/cloudimages/img-9")
        #expect(pairs(plain) == ["ims:images:updateImage ims:cn-north-4:0a1b2c:image:img-9"])
        #expect(plain.notApplied.map(\.action) == ["ims:serverImages:create"])
        let migrating = try plan("ims", "PATCH", "/v2/cloudimages/img-9", cases: ["enterprise-project-migration"])
        #expect(Set(pairs(migrating)) == ["ims:images:updateImage ims:cn-north-4:0a1b2c:image:img-9", "ims:serverImages:create *"])
    }

    @Test func missingURNPartsBecomeWildcards() throws {
        #expect(pairs(try plan("swr", "GET", "/v2/manage/namespaces")) == ["swr:namespace:listNamespaces swr:cn-north-4:0a1b2c:namespace:*"])
        #expect(pairs(try plan("swr", "POST", "/v2/manage/namespaces/team/repos")) == ["swr:repo:createRepo swr:cn-north-4:0a1b2c:repo:team/*"])
        #expect(
            pairs(try plan("swr", "DELETE", "/v2/manage/namespaces/team/repos/web")) == ["swr:repo:deleteRepo swr:cn-north-4:0a1b2c:repo:team/web"])
        #expect(pairs(try plan("ims", "POST", "/v1/cloudimages/members")) == ["ims:images:addMember ims:cn-north-4:0a1b2c:image:*"])
        #expect(
            pairs(try plan("ims", "POST", "/v1/cloudimages/members", resource: "ims:cn-north-4:0a1b2c:image:img-3")) == [
                "ims:images:addMember ims:cn-north-4:0a1b2c:image:img-3"
            ])
    }

    @Test func dependenciesGetTheirResources() throws {
        #expect(
            pairs(try plan("ims", "POST", "/v2/images/img-1/members")) == [
                "ims:images:share ims:cn-north-4:0a1b2c:image:img-1", "ims:images:get ims:cn-north-4:0a1b2c:image:img-1",
            ])
        #expect(
            pairs(try plan("ims", "POST", "/v1/cloudimages/img-1/file")) == [
                "ims:images:export ims:cn-north-4:0a1b2c:image:img-1", "obs:object:GetObject *", "obs:object:PutObject *",
            ])
        // ims:images:update is in no action table: checked on the row's own image.
        #expect(pairs(try plan("ims", "PUT", "/v2/images/img-1/file")).contains("ims:images:update ims:cn-north-4:0a1b2c:image:img-1"))
    }

    @Test func pathNormalization() throws {
        #expect(pairs(try plan("ims", "GET", "/v2/images/img-1/?verbose=1")) == ["ims:images:get ims:cn-north-4:0a1b2c:image:img-1"])
        #expect(
            pairs(try plan("swr", "GET", "/v2/manage/namespaces/team/repos/web%2Fapi")) == [
                "swr:repo:getRepo swr:cn-north-4:0a1b2c:repo:team/web/api"
            ])
        #expect(pairs(try plan("ims", "get", "/v2/images/img-1")).count == 1)
        #expect(pairs(try plan("ims", "GET", "/v2/0a1b/images/tags")) == ["ims:images:listImageTags *"])
    }

    @Test func unknownCallsAreErrorsNotDenies() {
        #expect(throws: APIAuthorizationError.self) { try plan("ims", "GET", "/v2/image/img-1") }
        #expect(failure("ims", "GET", "/v2/image/img-1")?.contains("closest known paths: /v2/images") == true)
        #expect(failure("ims", "PUT", "/v2/images/img-1") == "PUT is not supported on /v2/images/{image_id}; supported methods: DELETE, GET, PATCH")
        #expect(failure("ims", "POST", "/v2/cloudimages/quickimport/action", cases: ["data-disk"])?.contains("unknown case \"data-disk\"") == true)
        #expect(throws: APIAuthorizationError.self) { try plan("ecs", "GET", "/v1/servers") }
        #expect(throws: APIAuthorizationError.self) { try plan("ims", "GET", "/v2/images/img%ZZ") }
    }

    @Test func decisionNeedsEveryCheck() throws {
        let policy = try named("p", #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:import","ims:dataImages:create"]}]}"#)
        let authorizer = APIAuthorizer(catalog: Self.catalog, authorizer: Authorizer(policies: PolicySet(identityPolicies: [policy])))
        let request = APIRequest(service: "ims", method: "POST", path: "/v2/cloudimages/quickimport/action", region: "r", accountID: "a")
        let result = try authorizer.authorize(request)
        #expect(result.decision == .deny)
        #expect(result.checks.map(\.result.decision) == [.allow, .allow, .deny])
        let full = try named("f", #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]}]}"#)
        let allowed = try APIAuthorizer(catalog: Self.catalog, authorizer: Authorizer(policies: PolicySet(identityPolicies: [full]))).authorize(
            request)
        #expect(allowed.decision == .allow)
    }
}
