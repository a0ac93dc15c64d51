// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "bulwark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bulwark", targets: ["bulwark"]),
        .library(name: "BulwarkEngine", targets: ["BulwarkEngine"]),
        .library(name: "BulwarkContract", targets: ["BulwarkContract"]),
        .library(name: "BulwarkJSON", targets: ["BulwarkJSON"]),
        .library(name: "BulwarkPolicy", targets: ["BulwarkPolicy"]),
        .library(name: "BulwarkCatalog", targets: ["BulwarkCatalog"]),
        .library(name: "BulwarkValidation", targets: ["BulwarkValidation"]),
        .library(name: "BulwarkAPI", targets: ["BulwarkAPI"]),
        .library(name: "BulwarkOrganization", targets: ["BulwarkOrganization"]),
        .library(name: "BulwarkWorkspace", targets: ["BulwarkWorkspace"]),
        .library(name: "BulwarkAnalysis", targets: ["BulwarkAnalysis"]),
        .library(name: "BulwarkTraces", targets: ["BulwarkTraces"]),
        .library(name: "BulwarkStore", targets: ["BulwarkStore"]),
        .library(name: "BulwarkRuntime", targets: ["BulwarkRuntime"]),
        .library(name: "BulwarkServer", targets: ["BulwarkServer"]),
        .library(name: "BulwarkEnforcement", targets: ["BulwarkEnforcement"]),
        .library(name: "BulwarkGateway", targets: ["BulwarkGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Read bottom-up: each target depends only on targets above it.

        // A JSON reader that keeps line, column and JSON path for every value.
        .target(name: "BulwarkJSON"),
        // Service catalogs (actions, APIs, resource types, condition keys) as data files.
        .target(
            name: "BulwarkCatalog",
            dependencies: ["BulwarkJSON"],
            resources: [.copy("Resources/catalog")]
        ),
        // Policy language 5.0: AST with source locations, parser, globs, conditions, statement matching.
        .target(name: "BulwarkPolicy", dependencies: ["BulwarkJSON"]),
        // Decisions over identity policies and SCP levels, explanations, the authorize contract.
        .target(name: "BulwarkEngine", dependencies: ["BulwarkPolicy", "BulwarkCatalog", "BulwarkJSON"]),
        // The authorize contract of SPEC §3: its input decoded once (for the CLI and the server),
        // results rendered as JSON and text, and the batch runner over both cores.
        .target(name: "BulwarkContract", dependencies: ["BulwarkEngine", "BulwarkPolicy", "BulwarkJSON"]),
        // Findings of SPEC §6: grammar, catalog and security checks; JSON, text and SARIF reports.
        .target(name: "BulwarkValidation", dependencies: ["BulwarkPolicy", "BulwarkCatalog", "BulwarkJSON"]),
        // API-level authorization (SPEC §4): path templates, URNs, dependencies, qualified rows.
        .target(name: "BulwarkAPI", dependencies: ["BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON"]),
        // An organization: tree, SCPs and attachments, accounts with principals, groups and
        // identity policies; principals resolved to their policy sets, SCP paths and keys.
        .target(
            name: "BulwarkOrganization",
            dependencies: [
                "BulwarkEngine", "BulwarkCatalog", "BulwarkJSON", "BulwarkPolicy",
                .product(name: "HashTreeCollections", package: "swift-collections"),
            ]
        ),
        // What an enforcement point does with a call up to the decision, with no I/O: the call
        // read strictly (path, query, body), SDK-HMAC-SHA256, credentials, context, decision.
        .target(
            name: "BulwarkEnforcement",
            dependencies: [
                "BulwarkEngine", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkAPI", "BulwarkOrganization",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Policy as code (SPEC §5): an organization in a folder of YAML/JSON, simulate, tests, lint, access.
        .target(
            name: "BulwarkWorkspace",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkAPI",
                "BulwarkOrganization",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Exact questions over the finite catalog (SPEC §8): diff, checks, external access, generate.
        .target(
            name: "BulwarkAnalysis",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkAPI",
                "BulwarkOrganization",
            ]
        ),
        // The managed organization (policies with versions, SCPs, tree, principals, attachments)
        // as a pure state with commands, and where it is kept: SQLite (GRDB) or PostgreSQL.
        .target(
            name: "BulwarkStore",
            dependencies: [
                "BulwarkEngine", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkOrganization",
                .product(name: "HashTreeCollections", package: "swift-collections"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the server and the gateway share at run time: the state keeper following the
        // store, the decision log, TLS files, connection limits, JSON logs.
        .target(
            name: "BulwarkRuntime",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // The PDP server of SPEC §7: decision and management services, and their Hummingbird routes.
        .target(
            name: "BulwarkServer",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkAPI",
                "BulwarkOrganization", "BulwarkStore", "BulwarkEnforcement", "BulwarkRuntime", "BulwarkWorkspace", "BulwarkAnalysis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/console")]
        ),
        // The enforcement point of SPEC §9: an HTTP front for BulwarkEnforcement that forwards
        // allowed calls to their upstreams.
        .target(
            name: "BulwarkGateway",
            dependencies: [
                "BulwarkEngine", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkAPI", "BulwarkOrganization",
                "BulwarkWorkspace", "BulwarkStore", "BulwarkEnforcement", "BulwarkRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // zlib, for gzip'd trace files (Debian's zlib1g-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // CTS traces (SPEC §14): read as a stream, mapped to API calls, replayed against workspaces.
        .target(
            name: "BulwarkTraces",
            dependencies: [
                "BulwarkEngine", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkAPI", "BulwarkOrganization", "BulwarkWorkspace",
                "CZlib",
            ]
        ),
        // A test double of the cloud (SQLite) for trials and tests — IMS, SWR, IAM v5,
        // Organizations, CTS (SPEC §13); not part of the library.
        .target(
            name: "BulwarkEmulator",
            dependencies: [
                "BulwarkEnforcement", "BulwarkOrganization", "BulwarkPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Calls to Huawei Cloud's own APIs, signed as the official SDKs sign them: IAM's
        // authorization schemas (`catalog pull`, SPEC §12), Organizations and IAM v5 (`pull`,
        // `plan`, SPEC §13).
        .target(
            name: "BulwarkCloud",
            dependencies: [
                "BulwarkCatalog", "BulwarkJSON", "BulwarkAPI", "BulwarkEnforcement", "BulwarkWorkspace", "BulwarkOrganization",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "bulwark",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkAPI",
                "BulwarkOrganization", "BulwarkWorkspace", "BulwarkAnalysis", "BulwarkStore", "BulwarkRuntime",
                "BulwarkServer", "BulwarkGateway", "BulwarkEnforcement", "BulwarkEmulator", "BulwarkCloud", "BulwarkTraces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BulwarkTests",
            dependencies: [
                "BulwarkEngine", "BulwarkContract", "BulwarkCatalog", "BulwarkPolicy", "BulwarkJSON", "BulwarkValidation", "BulwarkAPI",
                "BulwarkOrganization", "BulwarkWorkspace", "BulwarkAnalysis", "BulwarkTraces", "bulwark",
                .product(name: "PropertyBased", package: "swift-property-based"),
                "BulwarkTestSupport",
            ],
            exclude: ["Golden", "Fixtures"]
        ),
        .testTarget(
            name: "BulwarkServerTests",
            dependencies: [
                "BulwarkServer", "BulwarkStore", "BulwarkEngine", "BulwarkContract", "BulwarkJSON", "BulwarkGateway", "BulwarkWorkspace", "BulwarkCatalog",
                "BulwarkEnforcement", "BulwarkAPI", "BulwarkOrganization", "BulwarkRuntime", "BulwarkEmulator", "BulwarkPolicy", "BulwarkValidation",
                "BulwarkCloud", "BulwarkAnalysis",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "BulwarkTestSupport",
            ]
        ),
        // Helpers both test targets use (a test target cannot share a source file with another).
        .target(name: "BulwarkTestSupport", path: "Tests/BulwarkTestSupport"),
    ],
    swiftLanguageModes: [.v6]
)

// Imports are internal unless marked `public import`: a module's public API shows which
// modules it exposes, and nothing leaks by accident.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("InternalImportsByDefault")]
}
