import BulwarkAPI
import BulwarkAnalysis
import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy
import BulwarkValidation
import Foundation
import Testing

/// Catalogs from Huawei's authorization schemas (SPEC §12): reading, merging, and a third
/// service decided, validated, analysed and authorized by operation like the built-in ones.
@Suite("Huawei authorization schemas as catalogs")
struct SchemaCatalogTests {
    static let builtIn = try! Catalog.bundled()
    static let evsFile = packageRoot().appendingPathComponent("examples/catalogs/evs.json").path
    static let withEVS = try! builtIn.merging([CatalogFile(name: "evs.json", bytes: Array(FileManager.default.contents(atPath: evsFile)!))]).catalog

    static func merged(_ files: [String: String]) throws(CatalogErrors) -> LoadedCatalog {
        try builtIn.merging(files.sorted { $0.key < $1.key }.map { CatalogFile(name: $0.key, bytes: Array($0.value.utf8)) })
    }

    static func problems(_ files: [String: String]) -> [String] {
        do {
            _ = try merged(files)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    // MARK: Round trips

    @Test(arguments: ["ims", "swr"])
    func exportReadsBackAsTheSameCatalog(service name: String) throws {
        let schema = try #require(Self.builtIn.exportHuaweiSchema(service: name))
        let loaded = try Self.builtIn.merging([CatalogFile(name: "\(name).json", bytes: schema)])
        #expect(loaded.notices.count == 1)
        #expect(loaded.notices[0].contains("replaces the built-in \(name) catalog"))
        let original = try #require(Self.builtIn.service(named: name))
        let read = try #require(loaded.catalog.service(named: name))
        #expect(read.actions == original.actions)
        #expect(read.resourceTypes == original.resourceTypes)
        #expect(read.conditionKeys == original.conditionKeys)
        #expect(read.apis == original.apis)
        #expect(read.referencedActions == original.referencedActions)
        #expect(read.requestFields == original.requestFields)
        #expect(read.updated == original.updated)
        // The whole catalog, as every command sees it, is unchanged.
        #expect(loaded.catalog.exportJSON() == Self.builtIn.exportJSON())
        // Exporting the read-back catalog gives the same document.
        #expect(loaded.catalog.exportHuaweiSchema(service: name) == schema)
    }

    @Test func aReplacedCatalogDecidesAndAuthorizesCallsAlike() throws {
        let schema = try #require(Self.builtIn.exportHuaweiSchema(service: "ims"))
        let replaced = try Self.builtIn.merging([CatalogFile(name: "ims.json", bytes: schema)]).catalog
        let set = PolicySet(identityPolicies: [
            try named("p", statementPolicy("Allow", "ims:images:*", resource: "ims:*:*:image:img-*"))
        ])
        let request = APIRequest(service: "ims", method: "POST", path: "/v2/images/img-1/members", region: "r", accountID: "a")
        for catalog in [Self.builtIn, replaced] {
            let api = APIAuthorizer(catalog: catalog, authorizer: Authorizer(policies: set, catalog: catalog))
            let result = try api.authorize(request)
            #expect(result.checks.map(\.action) == ["ims:images:share", "ims:images:get"])
            #expect(result.decision == .allow)
        }
    }

    // MARK: A third service

    @Test func theThirdServiceIsListedWithEverythingTheSchemaSays() throws {
        let evs = try #require(Self.withEVS.service(named: "evs"))
        #expect(evs.actions.count == 8)
        #expect(evs.operations.count == 7)
        #expect(evs.resourceTypes.map(\.name) == ["volume", "snapshot"])
        let create = try #require(Self.withEVS.action(named: "evs:volumes:create"))
        #expect(create.resources.map(\.type) == ["volume", "snapshot"])
        #expect(create.resources.map(\.required) == [true, false])
        #expect(create.conditionKeys(onResourceType: "volume").contains("evs:Size"))
        #expect(!create.conditionKeys(onResourceType: "snapshot").contains("evs:Size"))
        #expect(Self.withEVS.action(named: "evs:volumes:useEncryptionKey")?.permissionOnly == true)
        #expect(Self.withEVS.action(aliased: "EVS:volumes:Modify")?.name == "evs:volumes:update")
        #expect(Self.withEVS.conditionKey(named: "evs:Size")?.type == .numeric)
    }

    @Test func anAliasInAPolicyGrantsItsAction() throws {
        let text = statementPolicy("Allow", "evs:volumes:modify", resource: "evs:*:*:volume:*")
        let set = PolicySet(identityPolicies: [try named("p", text)])
        let compiled = Authorizer(policies: set, catalog: Self.withEVS)
        let reference = ReferenceAuthorizer(policies: set, scope: VariableScope(catalog: Self.withEVS))
        for action in ["evs:volumes:update", "evs:volumes:modify", "EVS:Volumes:Update"] {
            let request = AuthorizationRequest(action: action, resource: "evs:r:a:volume:v-1")
            #expect(compiled.authorize(request).decision == .allow, "\(action)")
            #expect(reference.authorize(request).decision == .allow, "\(action)")
        }
        #expect(compiled.authorize(AuthorizationRequest(action: "evs:volumes:delete", resource: "evs:r:a:volume:v-1")).decision == .deny)
        // A wildcard over the alias covers the action; NotAction of the alias excludes it.
        let wild = PolicySet(identityPolicies: [try named("w", statementPolicy("Allow", "evs:volumes:mod*", resource: "*"))])
        #expect(Authorizer(policies: wild, catalog: Self.withEVS).authorize(AuthorizationRequest(action: "evs:volumes:update")).decision == .allow)
        let not = #"{"Version":"5.0","Statement":[{"Effect":"Allow","NotAction":["evs:volumes:modify"],"Resource":"*"}]}"#
        let notSet = PolicySet(identityPolicies: [try named("n", not)])
        #expect(Authorizer(policies: notSet, catalog: Self.withEVS).authorize(AuthorizationRequest(action: "evs:volumes:update")).decision == .deny)
        #expect(
            ReferenceAuthorizer(policies: notSet, scope: VariableScope(catalog: Self.withEVS)).authorize(
                AuthorizationRequest(action: "evs:volumes:update")
            ).decision == .deny)
    }

    @Test func theValidatorKnowsAliasesPermissionOnlyActionsAndKeysPerResourceType() throws {
        let validator = PolicyValidator(catalog: Self.withEVS)
        let text = """
            {"Version":"5.0","Statement":[
            {"Effect":"Allow","Action":["evs:volumes:modify"],"Resource":["evs:*:*:volume:*"]},
            {"Effect":"Allow","Action":["evs:volumes:create"],"Resource":["evs:*:*:snapshot:*"],"Condition":{"NumberLessThan":{"evs:Size":"100"}}},
            {"Effect":"Allow","Action":["evs:volumes:create"],"Resource":["evs:*:*:volume:*"],"Condition":{"NumberLessThan":{"evs:Size":"100"}}},
            {"Effect":"Allow","Action":["evs:volumes:useEncryptionKey"],"Resource":["*"]}
            ]}
            """
        let findings = validator.validate(text, type: .identity)
        let codes = findings.map { "\($0.code.rawValue) \($0.path)" }
        #expect(codes.contains("ACTION_IS_ALIAS $.Statement[0].Action[0]"))
        #expect(codes.contains("CONDITION_KEY_NOT_SUPPORTED $.Statement[1].Condition.NumberLessThan[\"evs:Size\"]"))
        #expect(!codes.contains("CONDITION_KEY_NOT_SUPPORTED $.Statement[2].Condition.NumberLessThan[\"evs:Size\"]"))
        #expect(!codes.contains { $0.hasPrefix("UNKNOWN_ACTION") })
        let alias = try #require(findings.first { $0.code == .actionIsAlias })
        #expect(alias.severity == .suggestion)
        #expect(alias.message.contains("evs:volumes:update"))
        // Without the schema, the same service is unknown (a warning, not an error).
        #expect(PolicyValidator(catalog: Self.builtIn).validate(text, type: .identity).contains { $0.code == .unknownService })
    }

    @Test func operationsNameTheActionsACallNeeds() throws {
        let set = PolicySet(identityPolicies: [
            try named("p", statementPolicy("Allow", "evs:volumes:create", resource: "evs:*:*:volume:*")),
            try named("q", statementPolicy("Allow", "evs:volumes:useEncryptionKey")),
        ])
        let api = APIAuthorizer(catalog: Self.withEVS, authorizer: Authorizer(policies: set, catalog: Self.withEVS))
        var request = APIRequest(service: "evs", method: "", path: "", region: "cn-north-4", accountID: "0a1b")
        request.operation = "CreateVolume"
        let result = try api.authorize(request)
        #expect(result.checks.map(\.action) == ["evs:volumes:create", "evs:volumes:useEncryptionKey", "ims:images:get"])
        #expect(result.checks.map(\.resource) == ["evs:cn-north-4:0a1b:volume:*", "*", "*"])
        #expect(result.checks.map(\.result.decision) == [.allow, .allow, .deny])
        #expect(result.decision == .deny)
        #expect(result.checks[2].isDependency)
        #expect(result.checks[0].requiredBy.label == "operation CreateVolume")
        request.resource = "evs:cn-north-4:0a1b:volume:v-9"
        #expect(try api.authorize(request).checks[0].resource == "evs:cn-north-4:0a1b:volume:v-9")
        request.operation = "CreateVolumes"
        #expect(throws: APIAuthorizationError.self) { try api.authorize(request) }
        do {
            _ = try api.authorize(request)
        } catch {
            #expect(error.message == "unknown operation \"CreateVolumes\" of evs; did you mean CreateVolume?")
        }
    }

    @Test func exactAnalysisCoversTheImportedService() throws {
        let old = AccessModel(policies: PolicySet(identityPolicies: [try named("o", statementPolicy("Allow", "evs:volumes:get"))]))
        let new = AccessModel(policies: PolicySet(identityPolicies: [try named("n", statementPolicy("Allow", "evs:volumes:*"))]))
        let diff = PolicyAnalyzer(catalog: Self.withEVS).difference(old: old, new: new)
        let added = Set(diff.added.flatMap(\.actions))
        #expect(
            added == [
                "evs:volumes:list", "evs:volumes:create", "evs:volumes:update", "evs:volumes:delete", "evs:volumes:useEncryptionKey",
                "evs:volumes:tag",
            ])
        #expect(diff.removed.isEmpty)
        // A policy naming the alias grants the action in the analysis too.
        let alias = AccessModel(policies: PolicySet(identityPolicies: [try named("a", statementPolicy("Allow", "evs:volumes:modify"))]))
        let update = AccessModel(policies: PolicySet(identityPolicies: [try named("u", statementPolicy("Allow", "evs:volumes:update"))]))
        let same = PolicyAnalyzer(catalog: Self.withEVS).difference(old: alias, new: update)
        #expect(same.added.isEmpty && same.removed.isEmpty)
    }

    // MARK: Bad input

    @Test func aBrokenSchemaIsOneLocatedErrorPerProblem() {
        let text = """
            {
              "version": "1",
              "actions": [
                {"name": "foo:things:get", "access_level": "reader", "resources": [{"urn_template": "foo:<region>:<account-id>:gizmo:<id>"}]},
                {"name": "foo:things:get", "access_level": "read"},
                {"access_level": "read"},
                {"name": "bar:things:put", "access_level": "write"},
                {"name": "foo:things:put", "access_level": "write", "condition_keys": ["foo:Nope", 3], "permission_only": "yes"}
              ],
              "resources": [{"type_name": "thing", "urn_template": "foo:<region>:<account-id>:thing:<id>"}],
              "conditions": [{"key": "foo:Size", "value_type": "integer"}, {"key": "foo:A", "value_type": "string"}, {"key": "foo:a", "value_type": "string"}]
            }
            """
        let problems = Self.problems(["bad.json": text])
        let expected = [
            #"bad.json:4:48: $.actions[0].access_level: unknown access level "reader" (expected one of list, read, write, permission_management, tagging)"#,
            #"bad.json:4:89: $.actions[0].resources[0].urn_template: foo:<region>:<account-id>:gizmo:<id> is the URN template of no resource type in "resources""#,
            #"bad.json:5:14: $.actions[1].name: duplicate action foo:things:get"#,
            #"bad.json:6:5: $.actions[2]: missing field "name""#,
            #"bad.json:7:14: $.actions[3].name: bar:things:put is not an action of service foo (foo:things:get is); a schema describes one service"#,
            #"bad.json:8:76: $.actions[4].condition_keys[0]: condition key foo:Nope is neither in "conditions" nor a global key"#,
            #"bad.json:8:88: $.actions[4].condition_keys[1]: expected a string, found number"#,
            #"bad.json:8:111: $.actions[4].permission_only: "permission_only" must be true or false, found string"#,
            #"bad.json:11:52: $.conditions[0].value_type: unknown value type "integer" (expected string, numeric, boolean, date or ip_address)"#,
            #"bad.json:11:114: $.conditions[2].key: duplicate condition key "foo:a""#,
        ]
        #expect(problems == expected)
    }

    @Test func syntaxErrorsWrongTypesAndMissingLists() {
        #expect(Self.problems(["a.json": "{\"actions\": [}"]).first?.hasPrefix("a.json:1:14: ") == true)
        #expect(Self.problems(["a.json": "[]"]) == ["a.json:1:1: expected an object, found array"])
        #expect(
            Self.problems(["a.json": #"{"version": 2, "actions": {}, "resources": []}"#]) == [
                #"a.json:1:13: $.version: "version" must be a string, found number"#,
                #"a.json:1:27: $.actions: "actions" must be an array, found object"#,
            ])
        #expect(Self.problems(["a.json": #"{"version": "1", "actions": []}"#]) == [#"a.json:1:1: missing field "resources""#])
        // Two members with one key: readers disagree on which counts, so it is refused.
        #expect(
            Self.problems(["a.json": #"{"version": "1", "version": "2", "resources": [], "actions": [{"name": "foo:a:b", "access_level": "read"}]}"#])
                == [#"a.json:1:18: $.version: duplicate key "version""#])
    }

    @Test func keysWrittenWithEscapesAreTheSameKeys() throws {
        // Keys are matched in place when written plainly; an escaped spelling is the same key,
        // so it is read as one and a second spelling of one key is a duplicate.
        let escaped = #"{"versio\u006e": "1", "resources": [], "actions": [{"n\u0061me": "foo:a:b", "access_level": "read"}]}"#
        let loaded = try Self.builtIn.merging([CatalogFile(name: "a.json", bytes: Array(escaped.utf8))])
        #expect(loaded.catalog.action(named: "foo:a:b")?.accessLevel == .read)
        #expect(
            Self.problems([
                "a.json": #"{"version": "1", "resources": [], "actions": [{"name": "foo:a:b", "n\u0061me": "foo:a:c", "access_level": "read"}]}"#
            ])
                == [#"a.json:1:67: $.actions[0].name: duplicate key "name""#])
    }

    @Test(arguments: [3, 40]) func keysPerResourceTypeSplitAlikeForFewAndMany(count: Int) {
        // Few keys are compared in place, many through sets: the same answer either way.
        let own = (0..<count).map { "foo:Own\($0)" } + ["FOO:Shared"]
        let perType = ["foo:shared"] + (0..<count).map { "foo:Typed\($0)" }
        let action = ActionDefinition(
            name: "foo:a:b", description: "", accessLevel: .read, resourceTypes: ["thing"], conditionKeys: own,
            resources: [ActionResource(type: "thing", required: true, conditionKeys: perType)])
        #expect(action.actionConditionKeys == Array(own.dropLast()))
        #expect(action.conditionKeys == own + perType.dropFirst())
    }

    @Test func manyKeysOfItsOwnInOneObjectAreReadAndDuplicatesFound() {
        // Keys a schema does not define are skipped; repeated, they are still duplicates.
        let extra = (0..<3000).map { "\"x\($0)\": 1" }.joined(separator: ", ")
        let text =
            #"{"version": "1", "resources": [], "actions": [{"name": "foo:a:b", "access_level": "read", "#
            + extra + #", "x7": 2}]}"#
        let problems = Self.problems(["a.json": text])
        #expect(problems.count == 1)
        #expect(problems.first?.hasSuffix(#"$.actions[0].x7: duplicate key "x7""#) == true)
    }

    @Test func operationsMustNameKnownActions() {
        let text = """
            {"version": "1", "resources": [],
             "actions": [{"name": "foo:things:put", "access_level": "write"}],
             "operations": [
               {"operation_id": "PutThing", "operation_action": "foo:things:put", "dependent_actions": ["ims:images:get", "bar:x:y"]},
               {"operation_id": "PutThing", "operation_action": "foo:things:put"},
               {"operation_id": "GetThing", "operation_action": "foo:things:get"}
             ]}
            """
        #expect(
            Self.problems(["foo.json": text]) == [
                #"foo.json:5:21: $.operations[1].operation_id: duplicate operation PutThing"#,
                #"foo.json:6:53: $.operations[2].operation_action: foo:things:get is no action of this schema"#,
            ])
        let fixed = """
            {"version": "1", "resources": [],
             "actions": [{"name": "foo:things:put", "access_level": "write"}],
             "operations": [
               {"operation_id": "PutThing", "operation_action": "foo:things:put", "dependent_actions": ["ims:images:get", "bar:x:y"]}
             ]}
            """
        #expect(
            Self.problems(["foo.json": fixed]) == [
                #"foo.json:4:111: $.operations[0].dependent_actions[1]: operation PutThing depends on bar:x:y, which no catalog defines"#
            ])
    }

    @Test func theSameServiceInTwoFilesIsAnErrorNamingBoth() {
        let text = #"{"version": "1", "resources": [], "actions": [{"name": "foo:things:put", "access_level": "write"}]}"#
        #expect(
            Self.problems(["a/foo.json": text, "b/foo.json": text]) == ["b/foo.json: service foo is also defined in a/foo.json; keep one of them"])
    }

    @Test func nothingIsHalfLoaded() throws {
        let good = #"{"version": "1", "resources": [], "actions": [{"name": "foo:things:put", "access_level": "write"}]}"#
        let bad = #"{"version": "1", "resources": [], "actions": [{"name": "baz:things:put", "access_level": "nope"}]}"#
        #expect(Self.problems(["good.json": good, "bad.json": bad]).count == 1)
        let loaded = try Self.merged(["good.json": good])
        #expect(loaded.catalog.service(named: "foo")?.actions.count == 1)
        #expect(loaded.notices.isEmpty)
    }

    // MARK: The CLI

    /// A copy of the example workspace with the EVS schema in `catalogs/` and a policy for bob that names an alias.
    static func workspaceWithEVS() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-evs-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: packageRoot().appendingPathComponent("examples/workspace"), to: folder)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("catalogs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: evsFile, toPath: folder.appendingPathComponent("catalogs/evs.json").path)
        let account = folder.appendingPathComponent("accounts/dev/account.yaml")
        let yaml = try String(contentsOf: account, encoding: .utf8)
        try yaml.replacingOccurrences(of: "    policies: [image-readers]", with: "    policies: [image-readers, disks]")
            .write(to: account, atomically: true, encoding: .utf8)
        try #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["evs:volumes:modify"],"Resource":["evs:*:0a1b2c:volume:*"]}]}"#
            .write(to: folder.appendingPathComponent("accounts/dev/policies/disks.json"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test func aWorkspaceCatalogIsDecidedValidatedAndListed() throws {
        let folder = try Self.workspaceWithEVS()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bob = ["--workspace", folder.path, "--principal", "iam::0a1b2c:user:bob"]
        let allowed = try runCLI(["simulate"] + bob + ["--action", "evs:volumes:update", "--resource", "evs:cn-north-4:0a1b2c:volume:v-1"])
        #expect(allowed.code == 0)
        #expect(allowed.stdout.contains("ALLOW (allowed)"))
        #expect(allowed.stdout.contains("determined by identity policy \"accounts/dev/policies/disks.json\" statement 0"))
        let denied = try runCLI(["simulate"] + bob + ["--action", "evs:volumes:delete", "--resource", "evs:cn-north-4:0a1b2c:volume:v-1"])
        #expect(denied.stdout.contains("DENY (no_identity_allow)"))
        let byOperation = try runCLI(["simulate"] + bob + ["--service", "evs", "--operation", "UpdateVolume", "--region", "cn-north-4"])
        #expect(byOperation.code == 0)
        #expect(byOperation.stdout.contains("ALLOW evs operation UpdateVolume\n  allow evs:volumes:update on evs:cn-north-4:0a1b2c:volume:*"))
        let access = try runCLI(["access"] + bob)
        #expect(access.stdout.contains("evs\n  write\n    evs:volumes:update on evs:*:0a1b2c:volume:*  (accounts/dev/policies/disks.json #0)"))
        let lint = try runCLI(["lint", "--workspace", folder.path])
        #expect(lint.code == 0)
        #expect(lint.stdout.contains("suggestion ACTION_IS_ALIAS: \"evs:volumes:modify\" is an alias of evs:volumes:update"))
        // Without the schema, the workspace's policy names an unknown service.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("catalogs"))
        #expect(try runCLI(["lint", "--workspace", folder.path]).stdout.contains("warning UNKNOWN_SERVICE"))
    }

    @Test func aBrokenCatalogStopsTheCommandWithEveryProblem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-badcat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"version": "1", "resources": [], "actions": [{"name": "foo:a:b", "access_level": "loud"}, {"name": "foo:a:c"}]}"#
            .write(to: folder.appendingPathComponent("foo.json"), atomically: true, encoding: .utf8)
        let result = try runCLI(["catalog", "list-actions", "--catalog", folder.path])
        #expect(result.code == 2)
        #expect(result.stdout.isEmpty)
        let file = folder.path + "/foo.json"
        #expect(
            result.stderr == """
                bulwark: the catalogs have 2 problem(s):
                \(file):1:83: $.actions[0].access_level: unknown access level "loud" (expected one of list, read, write, permission_management, tagging)
                \(file):1:92: $.actions[1]: missing field "access_level"

                """)
        let replaced = try runCLI([
            "catalog", "list-actions", "--service", "ims", "--catalog", packageRoot().appendingPathComponent("Fuzz/seeds/fuzz-catalog").path,
        ])
        #expect(replaced.code == 2)  // the seeds hold a broken schema next to SWR's
        let export = try runCLI(["catalog", "export", "--format", "huawei-schema", "--service", "swr"])
        #expect(export.code == 0)
        #expect(export.stdout.hasPrefix(#"{"version":"2024-12-02","actions":[{"name":"swr:"#))
        let missing = try runCLI(["catalog", "export", "--format", "huawei-schema", "--service", "evs"])
        #expect(missing.code == 2)
        #expect(missing.stderr.contains("unknown service \"evs\""))
    }
}
