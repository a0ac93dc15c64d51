import Foundation

/// The OpenAPI 3 description of the whole API, served at `/openapi.json` (the committed
/// file `Sources/BulwarkServer/Resources/openapi.json`).
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return Array("{}".utf8) }
        return Array(data)
    }()
}
