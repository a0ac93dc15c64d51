// swift-tools-version:6.1
// Coverage-guided fuzzers (libFuzzer) for what reads untrusted bytes: the JSON reader, the
// policy parser, the `bulwark authorize` input decoder (SPEC §3) and the gateway's call
// handling up to the decision, a workspace given as files (the bulk import) and a user catalog (a Huawei authorization schema). A package of its own: built only by scripts/fuzz.sh, with
// -sanitize=fuzzer,address, never by `swift build` or `swift test`.
import PackageDescription

let package = Package(
    name: "bulwark-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "bulwark", path: "..")],
    targets: [
        // libFuzzer's driver, called from each target's main.
        .target(name: "FuzzDriver"),
        .executableTarget(name: "fuzz-json", dependencies: ["FuzzDriver", .product(name: "BulwarkJSON", package: "bulwark")]),
        .executableTarget(name: "fuzz-policy", dependencies: ["FuzzDriver", .product(name: "BulwarkPolicy", package: "bulwark")]),
        .executableTarget(name: "fuzz-authorize-input", dependencies: [
            "FuzzDriver", .product(name: "BulwarkEngine", package: "bulwark"), .product(name: "BulwarkContract", package: "bulwark"),
            .product(name: "BulwarkCatalog", package: "bulwark"), .product(name: "BulwarkJSON", package: "bulwark"),
            .product(name: "BulwarkOrganization", package: "bulwark"), .product(name: "BulwarkPolicy", package: "bulwark"),
        ]),
        .executableTarget(name: "fuzz-gateway-call", dependencies: [
            "FuzzDriver", .product(name: "BulwarkEnforcement", package: "bulwark"), .product(name: "BulwarkEngine", package: "bulwark"),
            .product(name: "BulwarkCatalog", package: "bulwark"), .product(name: "BulwarkWorkspace", package: "bulwark"),
            .product(name: "BulwarkOrganization", package: "bulwark"),
        ]),
        .executableTarget(name: "fuzz-catalog", dependencies: ["FuzzDriver", .product(name: "BulwarkCatalog", package: "bulwark")]),
        .executableTarget(name: "fuzz-traces", dependencies: ["FuzzDriver", .product(name: "BulwarkTraces", package: "bulwark")]),
        .executableTarget(name: "fuzz-workspace", dependencies: [
            "FuzzDriver", .product(name: "BulwarkWorkspace", package: "bulwark"), .product(name: "BulwarkCatalog", package: "bulwark"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
