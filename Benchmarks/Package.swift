// swift-tools-version:6.1
// Benchmarks live in their own package so `swift test` never builds them.
// Run: swift run -c release --package-path Benchmarks bulwark-bench [validate|authorize|diff|all]
import PackageDescription

let package = Package(
    name: "bulwark-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "bulwark", path: "..")],
    targets: [
        .executableTarget(
            name: "bulwark-bench",
            dependencies: [
                .product(name: "BulwarkEngine", package: "bulwark"),
                .product(name: "BulwarkContract", package: "bulwark"),
                .product(name: "BulwarkPolicy", package: "bulwark"),
                .product(name: "BulwarkCatalog", package: "bulwark"),
                .product(name: "BulwarkJSON", package: "bulwark"),
                .product(name: "BulwarkValidation", package: "bulwark"),
                .product(name: "BulwarkAnalysis", package: "bulwark"),
                "MallocCounter",
            ],
            path: "Sources/BulwarkBench"
        ),
        .target(name: "MallocCounter", path: "Sources/MallocCounter"),
    ],
    swiftLanguageModes: [.v6]
)
