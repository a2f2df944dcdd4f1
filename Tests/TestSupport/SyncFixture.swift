import DaemonKit
import Foundation
import Postgres
import SyncEngine
import XCTest

/// Three (or more) throwaway site databases, one per test cluster, migrated and configured:
/// the world every integration test of the sync engine starts from.
public final class SyncFixture: Sendable {
    public let clusters: TestClusters
    public let siteNames: [String]
    public let conninfos: [String]
    public let configPath: String
    public let configuration: Configuration
    public let logs = MemoryLogHandler(minimumLevel: .debug)
    private let sessions: [PostgresSession]

    private init(clusters: TestClusters, siteNames: [String], conninfos: [String], configPath: String, configuration: Configuration) {
        self.clusters = clusters
        self.siteNames = siteNames
        self.conninfos = conninfos
        self.configPath = configPath
        self.configuration = configuration
        sessions = zip(siteNames, conninfos).map { PostgresSession(conninfo: $1, label: "test/\($0)") }
    }

    /// Creates a database per site (site i in cluster i mod the number of clusters), writes a
    /// configuration file and migrates every site. `siteKeys` adds lines to a site's section
    /// (`hub = yes`).
    public static func make(
        sites: [String] = ["web", "store-a", "store-b"], batchSize: Int = 1000, pollIntervalMs: Int = 500,
        migrate: Bool = true, tables: String = "", applicationSchema: String? = nil, siteKeys: [String: String] = [:]
    ) async throws -> SyncFixture {
        let clusters = try TestClusters.fromEnvironment()
        var conninfos: [String] = []
        for index in sites.indices {
            conninfos.append(try clusters.createDatabase(cluster: index % clusters.count, prefix: "sync"))
        }
        if let applicationSchema {
            // The application's own tables exist before omnisync is installed, as in a real shop.
            for conninfo in conninfos {
                let connection = try PostgresConnection.connect(conninfo: conninfo, applicationName: "fixture")
                defer { connection.close() }
                try connection.execute(script: applicationSchema, label: "application schema")
            }
        }
        let directory = NSTemporaryDirectory() + "omnisync-fixture-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/omnisync.conf"
        try (configText(sites: sites, conninfos: conninfos, batchSize: batchSize, pollIntervalMs: pollIntervalMs, siteKeys: siteKeys)
            + tables)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try Configuration.load(path: path)
        let fixture = SyncFixture(
            clusters: clusters, siteNames: sites, conninfos: conninfos, configPath: path, configuration: configuration)
        if migrate {
            let results = await Migrator(configuration: configuration, logger: Logger(handler: fixture.logs)).migrate(siteName: nil)
            for result in results {
                guard case .migrated = result.outcome else {
                    throw SyncFixtureError(description: "migrate \(result.site): \(result.outcome)")
                }
            }
        }
        return fixture
    }

    public static func configText(
        sites: [String], conninfos: [String], batchSize: Int = 1000, pollIntervalMs: Int = 500, logLevel: String = "debug",
        siteKeys: [String: String] = [:]
    ) -> String {
        var text = "[daemon]\nlog_level = \(logLevel)\nbatch_size = \(batchSize)\npoll_interval_ms = \(pollIntervalMs)\n"
        for (name, conninfo) in zip(sites, conninfos) {
            text += "\n[site \(name)]\nconninfo = \(conninfo)\n" + (siteKeys[name].map { $0 + "\n" } ?? "")
        }
        return text
    }

    public var logger: Logger { Logger(handler: logs) }

    public func conninfo(_ site: String) -> String {
        conninfos[siteNames.firstIndex(of: site)!]
    }

    public func cluster(of site: String) -> Int {
        siteNames.firstIndex(of: site)! % clusters.count
    }

    /// Runs one statement at `site` as an application would (its writes are captured).
    @discardableResult
    public func sql(_ site: String, _ query: String, _ params: [String?] = []) async throws -> [[String?]] {
        let session = sessions[siteNames.firstIndex(of: site)!]
        do {
            return try await session.withConnection { try $0.query(query, params, label: "test statement").rows }
        } catch let error as PostgresError where error.category == .connection {
            // The site's server was restarted by the test: the session reconnects on the next call.
            return try await session.withConnection { try $0.query(query, params, label: "test statement").rows }
        }
    }

    /// The first column of the first row, or nil.
    public func value(_ site: String, _ query: String, _ params: [String?] = []) async throws -> String? {
        try await sql(site, query, params).first?.first ?? nil
    }

    /// `on_hand` of a stock row at `site` (nil when the row is missing).
    public func onHand(_ site: String, sku: String, location: String) async throws -> Int64? {
        try await value(site, "SELECT on_hand FROM retail.stock WHERE sku = $1 AND location = $2", [sku, location])
            .flatMap { Int64($0) }
    }

    /// A new application connection to `site` (for concurrent writers); disconnect it when done.
    public func newSession(_ site: String) -> PostgresSession {
        PostgresSession(conninfo: conninfo(site), label: "test/\(site)/extra")
    }

    /// Runs `count` single-statement transactions of `query` at `site`, one after another.
    public func repeatStatement(_ site: String, _ query: String, _ params: [String?] = [], count: Int) async throws {
        let session = newSession(site)
        for _ in 0..<count {
            _ = try await session.withConnection { try $0.query(query, params, label: "test repeat") }
        }
        await session.disconnect()
    }

    /// An in-process engine over the fixture's sites.
    public func makeEngine(batchSize: Int? = nil) -> SyncEngine {
        var configuration = self.configuration
        if let batchSize { configuration.daemon.batchSize = batchSize }
        return SyncEngine(configuration: configuration, logger: logger)
    }

    /// Delivers everything pending with a fresh in-process engine.
    @discardableResult
    public func syncOnce() async -> Int {
        let engine = makeEngine()
        let delivered = await engine.syncOnce()
        await engine.shutdown()
        return delivered
    }

    public func verify() async -> VerifyReport {
        await Verifier(configuration: configuration).verify()
    }

    /// Waits until `omnisync verify` would pass, failing with the last differences.
    public func waitForConvergence(timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line) async {
        let deadline = Date().addingTimeInterval(timeout)
        var report = await verify()
        while !(report.differences.isEmpty && report.unreachable.isEmpty) && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            report = await verify()
        }
        XCTAssertTrue(
            report.differences.isEmpty && report.unreachable.isEmpty, "not converged:\n\(report.render())",
            file: file, line: line)
    }

    /// Starts `omnisync run` on the fixture's configuration (or another file) as a separate process.
    public func startDaemon(configPath: String? = nil, environment: [String: String] = [:]) throws -> Subprocess {
        guard let binary = TestClusters.binaryPath else {
            throw SyncFixtureError(description: "OMNISYNC_BIN is not set; run scripts/test.sh")
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let daemon = try Subprocess(binary, arguments: ["run", "-c", configPath ?? self.configPath], environment: env)
        // Signals sent before the daemon has set up its handlers would kill it outright.
        let deadline = Date().addingTimeInterval(15)
        while !daemon.stderr.contains("omnisync ready"), daemon.isRunning, Date() < deadline {
            usleep(20_000)
        }
        return daemon
    }

    /// Runs `omnisync ARGUMENTS` to completion (the built binary, `OMNISYNC_BIN`).
    public static func omnisync(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let binary = TestClusters.binaryPath else {
            throw SyncFixtureError(description: "OMNISYNC_BIN is not set; run scripts/test.sh")
        }
        let result = try Subprocess.run(binary, arguments: arguments, timeout: 60)
        return (result.termination.code, result.stdout, result.stderr)
    }

    /// Writes another configuration file next to the fixture's and returns its path.
    public func writeConfig(named name: String, sites: [(String, String)]) throws -> String {
        try writeFile(name, SyncFixture.configText(sites: sites.map(\.0), conninfos: sites.map(\.1)))
    }

    /// Writes `text` to a file named `name` beside the fixture's configuration; returns its path.
    public func writeFile(_ name: String, _ text: String) throws -> String {
        let path = (configPath as NSString).deletingLastPathComponent + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Drops every database and closes the fixture's connections.
    public func tearDown() async {
        for session in sessions { await session.disconnect() }
        for conninfo in conninfos { clusters.dropDatabase(conninfo) }
        try? FileManager.default.removeItem(atPath: (configPath as NSString).deletingLastPathComponent)
    }
}

public struct SyncFixtureError: Error, CustomStringConvertible {
    public let description: String
}
