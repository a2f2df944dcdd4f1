// swift-tools-version:6.0
import PackageDescription

// No package dependencies: Foundation, Dispatch, Glibc and libpq only.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "omnisync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "omnisync", targets: ["omnisync"]),
    ],
    targets: [
        // The only module that sees the C API of libpq.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Pure replicated data types and invariants: no I/O, no clock, no randomness.
        .target(name: "MergeCore", swiftSettings: strict),
        // Thin libpq wrapper: connections on their own threads, errors, LISTEN.
        .target(name: "Postgres", dependencies: ["CLibPQ"], swiftSettings: strict),
        // The run-time table catalog: declared and built-in table specs, identifiers, routes, hash.
        // Pure, like MergeCore; read by omnisync check, not yet by the daemon.
        .target(name: "Catalog", dependencies: ["MergeCore"], swiftSettings: strict),
        // Generic daemon plumbing: logging, INI parsing, signals, systemd notify, metrics text.
        .target(name: "DaemonKit", swiftSettings: strict),
        // Configuration, capture schema, change feed, applier, status, verify, conflicts.
        .target(
            name: "SyncEngine",
            dependencies: ["MergeCore", "Catalog", "Postgres", "DaemonKit"],
            swiftSettings: strict
        ),
        // The command-line front.
        .executableTarget(
            name: "omnisync",
            dependencies: ["SyncEngine", "DaemonKit", "Postgres", "MergeCore", "Catalog"],
            swiftSettings: strict
        ),
        // The benchmark harness behind scripts/bench.sh: load generator and stopwatch.
        .executableTarget(
            name: "omnisync-bench",
            dependencies: ["Postgres"],
            swiftSettings: strict
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Postgres", "DaemonKit", "SyncEngine", "MergeCore"],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog"], exclude: ["Golden"], swiftSettings: strict),
        .testTarget(name: "MergeCoreTests", dependencies: ["MergeCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DaemonKitTests", dependencies: ["DaemonKit", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SyncEngineTests", dependencies: ["SyncEngine", "Catalog", "MergeCore", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["SyncEngine", "Postgres", "DaemonKit", "MergeCore", "Catalog", "TestSupport"],
            swiftSettings: strict
        ),
    ]
)
