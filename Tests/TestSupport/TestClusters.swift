import Foundation
import Postgres
import Synchronization
import XCTest

/// The throwaway PostgreSQL clusters that scripts/test.sh starts, as described by the environment:
///
/// - `OMNISYNC_TEST_CLUSTERS`: semicolon-separated conninfos (key=value form), one per cluster, each
///   for the `postgres` database as superuser `postgres`;
/// - `OMNISYNC_TEST_CLUSTER_DIR`, `OMNISYNC_PGCLUSTER`: to take a cluster offline and back;
/// - `OMNISYNC_BIN`: the built `omnisync` executable.
public struct TestClusters: Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public let conninfos: [String]
    public let clusterDirectory: String?
    public let controlScript: String?

    public init(conninfos: [String], clusterDirectory: String? = nil, controlScript: String? = nil) {
        self.conninfos = conninfos
        self.clusterDirectory = clusterDirectory
        self.controlScript = controlScript
    }

    /// The clusters from the environment. Without them the test fails with instructions, or is skipped
    /// when `OMNISYNC_SKIP_DB_TESTS=1`.
    public static func fromEnvironment() throws -> TestClusters {
        let environment = ProcessInfo.processInfo.environment
        let conninfos = (environment["OMNISYNC_TEST_CLUSTERS"] ?? "")
            .split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !conninfos.isEmpty else {
            if environment["OMNISYNC_SKIP_DB_TESTS"] == "1" {
                throw XCTSkip("database tests skipped: OMNISYNC_SKIP_DB_TESTS=1")
            }
            throw Unavailable(
                description: """
                    OMNISYNC_TEST_CLUSTERS is not set: run the tests with scripts/test.sh, which starts \
                    throwaway PostgreSQL clusters (or set OMNISYNC_SKIP_DB_TESTS=1 to skip database tests)
                    """)
        }
        return TestClusters(
            conninfos: conninfos,
            clusterDirectory: environment["OMNISYNC_TEST_CLUSTER_DIR"],
            controlScript: environment["OMNISYNC_PGCLUSTER"])
    }

    /// The built `omnisync` executable (`OMNISYNC_BIN`), if set.
    public static var binaryPath: String? {
        ProcessInfo.processInfo.environment["OMNISYNC_BIN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public var count: Int { conninfos.count }

    /// Superuser conninfo for the `postgres` database of cluster `i`.
    public func adminConninfo(_ i: Int) -> String {
        conninfos[i]
    }

    /// Creates a database with a unique name in cluster `cluster` and returns its conninfo.
    public func createDatabase(cluster: Int, prefix: String = "t") throws -> String {
        let name = Self.uniqueName(prefix: prefix)
        let admin = try PostgresConnection.connect(conninfo: adminConninfo(cluster), applicationName: "omnisync-tests")
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(name)", label: "create test database")
        return "\(adminConninfo(cluster)) dbname=\(name)"
    }

    /// Drops a database made by `createDatabase`, disconnecting its sessions first. Errors are ignored
    /// (the cluster may be offline at the end of a test).
    public func dropDatabase(_ conninfo: String) {
        guard let cluster = conninfos.firstIndex(where: { conninfo.hasPrefix($0 + " dbname=") }),
            let name = conninfo.split(separator: "=").last.map(String.init)
        else { return }
        guard let admin = try? PostgresConnection.connect(conninfo: adminConninfo(cluster), applicationName: "omnisync-tests")
        else { return }
        defer { admin.close() }
        _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", label: "drop test database")
    }

    /// Creates one database in each of clusters 0..<count (cycling if there are fewer clusters),
    /// runs `body` with their conninfos, and drops them afterwards.
    public func withDatabases<T>(
        count: Int, prefix: String = "t", _ body: ([String]) async throws -> T
    ) async throws -> T {
        var created: [String] = []
        defer { created.forEach(dropDatabase) }
        for i in 0..<count {
            created.append(try createDatabase(cluster: i % self.count, prefix: prefix))
        }
        return try await body(created)
    }

    /// Fast shutdown of cluster `i`, keeping its data.
    public func stopCluster(_ i: Int) throws {
        try control("stop-one", i)
    }

    /// Starts cluster `i` again on the same socket and port.
    public func startCluster(_ i: Int) throws {
        try control("start-one", i)
    }

    private func control(_ command: String, _ i: Int) throws {
        guard let controlScript, let clusterDirectory else {
            throw Unavailable(description: "OMNISYNC_PGCLUSTER and OMNISYNC_TEST_CLUSTER_DIR must be set (scripts/test.sh sets them)")
        }
        let run = try Subprocess.run(controlScript, arguments: [command, clusterDirectory, String(i)], timeout: 90)
        guard run.termination == .exited(0) else {
            throw Unavailable(description: "pgcluster.sh \(command) \(i) failed (\(run.termination)): \(run.stderr)")
        }
    }

    private static let counter = Atomic(0)

    /// Lower-case, so it needs no quoting; unique across processes and parallel test runs.
    private static func uniqueName(prefix: String) -> String {
        let clean = prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        let sequence = counter.add(1, ordering: .relaxed).newValue
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(clean.isEmpty ? "t" : clean)_\(getpid())_\(sequence)_\(random)"
    }
}
