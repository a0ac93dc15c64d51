import Foundation

/// The OpenAPI 3 description of the whole API, served at `/openapi.json` (the committed
/// file `Sources/BulwarkServer/Resources/openapi.json`), and the route table read from it.
public enum OpenAPIDocument {
    /// Why the bundled document cannot be used: the server does not start without it.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The document's bytes and its routes, read once.
    static let loaded: Result<(bytes: [UInt8], routes: RouteTable), LoadError> = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            return .failure(LoadError(description: "openapi.json is missing from the server's resources"))
        }
        do {
            let data = try Data(contentsOf: url)
            guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let paths = root["paths"] as? [String: [String: Any]]
            else {
                return .failure(LoadError(description: "openapi.json has no paths object"))
            }
            let methods = Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"])
            let routes = paths.map { path, operations in
                (template: path, methods: operations.keys.filter(methods.contains).map { $0.uppercased() }.sorted())
            }
            return .success((Array(data), RouteTable(routes: routes)))
        } catch {
            return .failure(LoadError(description: "openapi.json cannot be read: \(error)"))
        }
    }()

    /// The document, or the reason it cannot be served (checked when the server starts).
    public static func bytes() throws(LoadError) -> [UInt8] { try loaded.get().bytes }

    static func routes() throws(LoadError) -> RouteTable { try loaded.get().routes }
}

/// The API's paths and their methods, so a known path with another method is answered
/// 405 with `Allow` instead of 404.
struct RouteTable: Sendable {
    let routes: [(template: String, methods: [String])]

    /// The methods of the route matching `path` (`{name}` matches one non-empty segment); nil when none does.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for route in routes {
            let parts = route.template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count else { continue }
            let matches = zip(parts, segments).allSatisfy { part, segment in
                part.hasPrefix("{") && part.hasSuffix("}") ? !segment.isEmpty : part == segment
            }
            if matches { return route.methods }
        }
        return nil
    }
}
