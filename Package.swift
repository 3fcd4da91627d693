// swift-tools-version:6.0
import PackageDescription

/// Conveyor: merged pull request → trained, gated model → live predictions.
/// Three services (`vcs`, `trainer`, `serving`) plus a dev/test GitHub stand-in
/// (`github-sandbox`), sharing libraries under `Shared/`.
let package = Package(
    name: "Conveyor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vcs", targets: ["vcs"]),
        .executable(name: "trainer", targets: ["trainer"]),
        .executable(name: "serving", targets: ["serving"]),
        .executable(name: "github-sandbox", targets: ["github-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        // C shims: headers only, nothing outside Postgres/HTTPClient imports them.
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Shared/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),

        // Shared libraries, one folder per concern.
        .target(name: "JSON", path: "Shared/JSON"),
        // Duration in seconds, milliseconds, microseconds and nanoseconds, written once.
        .target(name: "DurationUnits", path: "Shared/DurationUnits"),
        .target(
            name: "Subprocess",
            dependencies: ["DurationUnits", .product(name: "NIOPosix", package: "swift-nio")],
            path: "Shared/Subprocess"),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Postgres"),
        .target(
            name: "HTTPClient",
            dependencies: [
                "CCurl", "DurationUnits",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HTTPClient"),
        // GitHub's REST API and webhook vocabulary, shared by vcs, the trainer's previews and the sandbox.
        .target(
            name: "GitHub",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Shared/GitHub"),
        // S3-compatible object storage over the libcurl client (artifacts beyond one machine).
        .target(
            name: "ObjectStore",
            dependencies: [
                "HTTPClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/ObjectStore"),
        .target(
            name: "Migrations",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")],
            path: "Shared/Migrations"),
        // The vocabulary the services share (run statuses and kinds, deployment kinds) and the
        // stores of what crosses a service boundary (deployments, the history of live versions).
        .target(
            name: "Registry",
            dependencies: ["JSON", "Postgres", "Migrations", .product(name: "Yams", package: "Yams")],
            path: "Shared/Registry"),
        // Model versions in a directory or an object store, read through local copies.
        .target(
            name: "Artifacts",
            dependencies: [
                "ObjectStore", "HTTPClient", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Artifacts"),
        .target(
            name: "ONNX",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Shared/ONNX",
            exclude: ["Generated/regenerate.sh"]),
        .target(
            name: "Learning",
            dependencies: [
                "ONNX", "JSON", "Subprocess",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/Learning",
            // The worker that trains and serves a repository's own Python model (Python/PythonWorker.swift).
            resources: [.copy("Python/conveyor_worker.py")]),
        .target(
            name: "ServiceKit",
            dependencies: [
                "JSON", "Postgres", "Migrations", "Subprocess", "DurationUnits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            path: "Shared/ServiceKit"),

        // Services: a library with the logic, a thin executable over it.
        .target(
            name: "VCSService",
            dependencies: [
                "DurationUnits",
                "JSON", "ServiceKit", "Postgres", "HTTPClient", "GitHub", "Migrations", "Registry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/VCS/Sources"),
        .executableTarget(
            name: "vcs",
            dependencies: [
                "VCSService", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/VCS/Main"),
        .target(
            name: "TrainerService",
            dependencies: [
                "DurationUnits",
                "JSON", "ServiceKit", "Subprocess", "Postgres", "Learning", "Migrations", "HTTPClient", "GitHub",
                "Registry",
                "Artifacts", "ObjectStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Services/Trainer/Sources"),
        .executableTarget(
            name: "trainer",
            dependencies: [
                "TrainerService", "Learning", "Artifacts", "HTTPClient", "ObjectStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Trainer/Main"),
        .target(
            name: "ServingService",
            dependencies: [
                "DurationUnits",
                "JSON", "ServiceKit", "Postgres", "Learning", "Migrations", "ONNX", "Registry", "Artifacts",
                "HTTPClient", "Subprocess",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Services/Serving/Sources",
            exclude: ["InferenceGRPC/Generated/regenerate.sh"]),
        .executableTarget(
            name: "serving",
            dependencies: [
                "ServingService", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Serving/Main"),
        .target(
            name: "SandboxService",
            dependencies: [
                "JSON", "ServiceKit", "Subprocess", "HTTPClient", "GitHub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/GitHubSandbox/Sources"),
        .executableTarget(
            name: "github-sandbox",
            dependencies: [
                "SandboxService", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/GitHubSandbox/Main"),
        // Benchmarks (not shipped; `learning-bench`, and `bare-route` for Benchmarks/serving.sh), see Benchmarks/README.md.
        .executableTarget(
            name: "learning-bench",
            dependencies: ["Learning", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/LearningBench"),
        .executableTarget(
            name: "onnx-bench",
            dependencies: ["ONNX", "JSON", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/ONNXBench"),
        .executableTarget(
            name: "bare-route",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/BareRoute"),

        .testTarget(
            name: "UnitTests",
            dependencies: [
                "JSON", "Learning", "ServiceKit", "HTTPClient", "GitHub", "VCSService", "TrainerService",
                "ServingService",
                "Registry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tests/UnitTests"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "JSON", "Subprocess", "Postgres", "HTTPClient", "GitHub", "Migrations", "Learning", "ServiceKit",
                "ONNX",
                "Registry", "ObjectStore", "Artifacts",
                "VCSService", "TrainerService", "ServingService", "SandboxService",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Tests/IntegrationTests"),
    ]
)
