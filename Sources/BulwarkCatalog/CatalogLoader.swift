public import BulwarkJSON
import Foundation

/// A catalog that cannot be loaded at all: a missing directory, unreadable or malformed file.
public struct CatalogLoadError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let message: String
    /// Where in the file, when known.
    public let location: SourceLocation?

    public var description: String {
        if let location { return "\(file):\(location.line):\(location.column): \(message)" }
        return "\(file): \(message)"
    }
}

extension String {
    /// Case-folded as catalog names are compared (`Catalog.fold`).
    fileprivate var folded: String { Catalog.fold(self) }
}

extension Catalog {
    /// Environment variable that points at a catalog directory to use instead of the bundled one.
    public static let directoryEnvironmentVariable = "BULWARK_CATALOG_DIR"

    /// The catalog shipped with Bulwark (or the directory named by `BULWARK_CATALOG_DIR`).
    public static func bundled() throws(CatalogLoadError) -> Catalog {
        try load(directory: bundledDirectory())
    }

    /// Where the shipped data files are: next to the running executable, in SwiftPM's resource bundle.
    static func bundledDirectory() -> String {
        if let override = ProcessInfo.processInfo.environment[directoryEnvironmentVariable], !override.isEmpty {
            return override
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent("bulwark_BulwarkCatalog.resources/catalog"),
            executable.deletingLastPathComponent().appendingPathComponent("../share/bulwark/catalog"),
        ]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate.path
        }
        return candidates[0].path
    }

    /// Loads `global-keys.json` and every `services/*.json` of a directory.
    ///
    /// Structural problems inside the files (duplicate names, unknown access levels,
    /// dependencies that point nowhere) do not stop loading: they are returned in `issues`.
    public static func load(directory: String) throws(CatalogLoadError) -> Catalog {
        let base = URL(fileURLWithPath: directory)
        let servicesDirectory = base.appendingPathComponent("services")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: servicesDirectory.path)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw CatalogLoadError(
                file: servicesDirectory.path,
                message: "cannot read the catalog directory (set \(directoryEnvironmentVariable) to a catalog folder)",
                location: nil)
        }
        var services: [ServiceCatalog] = []
        var issues: [CatalogIssue] = []
        for name in names {
            let file = servicesDirectory.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CatalogLoadError(file: file, message: "cannot read the file", location: nil)
            }
            let (service, found) = try bulwarkService(Array(data), file: file, name: name)
            services.append(service)
            issues += found
        }
        let globalFile = base.appendingPathComponent("global-keys.json").path
        guard let globalData = FileManager.default.contents(atPath: globalFile) else {
            throw CatalogLoadError(file: globalFile, message: "cannot read the file", location: nil)
        }
        let global: GlobalKeysFile = try decode(Array(globalData), file: globalFile)
        issues += check(services: services, globalKeys: global.conditionKeys, fileNames: names)
        return Catalog(services: services, globalKeys: global.conditionKeys, issues: issues)
    }

    /// A service file in Bulwark's own format; an action with an unknown access level is left
    /// out and reported (one bad row is not fatal to the bundled catalog).
    static func bulwarkService(_ bytes: [UInt8], file: String, name: String) throws(CatalogLoadError) -> (ServiceCatalog, [CatalogIssue]) {
        let raw: RawService = try decode(bytes, file: file)
        var issues: [CatalogIssue] = []
        var actions: [ActionDefinition] = []
        for action in raw.actions {
            guard let level = AccessLevel(rawValue: action.accessLevel) else {
                issues.append(
                    CatalogIssue(
                        severity: .error, file: name,
                        message:
                            "action \(action.name) has unknown access level \"\(action.accessLevel)\" (expected one of \(AccessLevel.allCases.map(\.rawValue).joined(separator: ", "))); it is left out"
                    ))
                continue
            }
            actions.append(
                ActionDefinition(
                    name: action.name, description: action.description, accessLevel: level,
                    resourceTypes: action.resourceTypes, conditionKeys: action.conditionKeys,
                    permissionOnly: action.permissionOnly ?? false, aliases: action.aliases ?? []))
        }
        let service = ServiceCatalog(
            name: raw.name, title: raw.title, updated: raw.updated, resourceTypes: raw.resourceTypes,
            conditionKeys: raw.conditionKeys, actions: actions, apis: raw.apis,
            referencedActions: raw.referencedActions, requestFields: raw.requestFields ?? [], source: file)
        return (service, issues)
    }

    private struct RawAction: Decodable {
        let name: String
        let description: String
        let accessLevel: String
        let resourceTypes: [String]
        let conditionKeys: [String]
        let permissionOnly: Bool?
        let aliases: [String]?
    }

    private struct RawService: Decodable {
        let name: String
        let title: String
        let updated: String
        let resourceTypes: [ResourceTypeDefinition]
        let conditionKeys: [ConditionKeyDefinition]
        let actions: [RawAction]
        let apis: [APIRow]
        let referencedActions: [String]
        let requestFields: [RequestField]?
    }

    private struct GlobalKeysFile: Decodable {
        let conditionKeys: [ConditionKeyDefinition]
    }

    private static func decode<T: Decodable>(_ data: [UInt8], file: String) throws(CatalogLoadError) -> T {
        var reader = JSONReader(bytes: data)
        do {
            _ = try reader.readDocument()
        } catch {
            throw CatalogLoadError(file: file, message: "\(error.path): \(error.message)", location: error.location)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(data))
        } catch let DecodingError.keyNotFound(key, context) {
            throw CatalogLoadError(
                file: file, message: "\(render(context.codingPath)): missing field \"\(key.stringValue)\"", location: nil)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context)
        {
            throw CatalogLoadError(
                file: file, message: "\(render(context.codingPath)): \(context.debugDescription)", location: nil)
        } catch {
            throw CatalogLoadError(file: file, message: "\(error)", location: nil)
        }
    }

    private static func render(_ path: [any CodingKey]) -> String {
        JSONPath(path.map { $0.intValue.map(JSONPathComponent.index) ?? .key($0.stringValue) }).description
    }

    /// Cross-checks the files: names, references between actions, APIs, resource types and keys.
    /// The action tables of services in `schemaChecked` (indexes) were checked by `HuaweiSchemaReader`
    /// already, which also makes every action start with its service's unique code (so no other
    /// service can define it); `merged`, the catalog of all `services`, then answers for their actions.
    static func check(
        services: [ServiceCatalog], globalKeys: [ConditionKeyDefinition], fileNames: [String], schemaChecked: Set<Int> = [],
        merged: Catalog? = nil
    ) -> [CatalogIssue] {
        var issues: [CatalogIssue] = []
        var allActions: Set<String> = []
        var serviceNames: Set<String> = []
        for (index, (service, file)) in zip(services, fileNames).enumerated() {
            if !serviceNames.insert(service.name).inserted {
                issues.append(CatalogIssue(severity: .error, file: file, message: "service \(service.name) is defined twice"))
            }
            if merged != nil && schemaChecked.contains(index) { continue }
            for action in service.actions where !allActions.insert(action.name.folded).inserted {
                issues.append(CatalogIssue(severity: .error, file: file, message: "duplicate action \(action.name)"))
            }
        }
        // API rows may name an action by an alias (a newer schema renamed it).
        for (index, service) in services.enumerated() where merged == nil || !schemaChecked.contains(index) {
            for action in service.actions { for alias in action.aliases { allActions.insert(alias.folded) } }
        }
        func isAction(_ folded: String) -> Bool {
            allActions.contains(folded) || merged.map { $0.action(named: folded) != nil || $0.action(aliased: folded) != nil } ?? false
        }
        let globalNames = Set(globalKeys.map { $0.name.folded })
        for (index, (service, file)) in zip(services, fileNames).enumerated() {
            let rows = Set(service.apis.map { "\($0.method) \($0.path)" })
            var fieldNames: Set<String> = []
            for field in service.requestFields {
                if !fieldNames.insert(field.name).inserted {
                    issues.append(CatalogIssue(severity: .error, file: file, message: "request field \(field.name) is listed twice"))
                }
                for api in field.apis where !rows.contains(api) {
                    issues.append(
                        CatalogIssue(
                            severity: .error, file: file, message: "request field \(field.name) names \(api), which is no API row of \(service.name)")
                    )
                }
            }
            let referenced = Set(service.referencedActions.map { $0.folded })
            let resourceNames = Set(service.resourceTypes.map(\.name))
            let serviceKeys = Set(service.conditionKeys.map { $0.name.folded })
            for action in service.actions where !schemaChecked.contains(index) {
                if !action.name.folded.hasPrefix(service.name.folded + ":") {
                    issues.append(CatalogIssue(severity: .error, file: file, message: "action \(action.name) does not start with \(service.name):"))
                }
                for type in action.resourceTypes where !resourceNames.contains(type) {
                    issues.append(CatalogIssue(severity: .error, file: file, message: "action \(action.name) names unknown resource type \(type)"))
                }
                for key in action.conditionKeys {
                    let folded = key.folded
                    if !serviceKeys.contains(folded) && !globalNames.contains(folded) {
                        issues.append(CatalogIssue(severity: .error, file: file, message: "action \(action.name) names unknown condition key \(key)"))
                    }
                }
            }
            for row in service.apis {
                if !isAction(row.action.folded) {
                    issues.append(
                        CatalogIssue(severity: .error, file: file, message: "API \(row.method) \(row.path) points to unknown action \(row.action)"))
                }
                for dependency in row.dependencies {
                    let folded = dependency.folded
                    if isAction(folded) { continue }
                    if referenced.contains(folded) {
                        issues.append(
                            CatalogIssue(
                                severity: .note, file: file,
                                message:
                                    "API \(row.method) \(row.path) depends on \(dependency), which is in no action table (listed in referencedActions)"
                            ))
                    } else {
                        issues.append(
                            CatalogIssue(
                                severity: .error, file: file,
                                message: "API \(row.method) \(row.path) depends on \(dependency), which is neither an action nor in referencedActions"
                            ))
                    }
                }
            }
        }
        return issues
    }
}
