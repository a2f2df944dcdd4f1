import Foundation
import Postgres
import SyncEngine
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// docs/operations.md's "Configure and migrate" against a server whose `pg_hba.conf` is Debian's
/// as shipped: peer authentication on the local socket, scram-sha-256 over TCP on localhost. The
/// suite's own clusters trust every local connection, so this test starts one of its own.
///
/// Stand-ins for what a test cannot have: the cluster listens on its own port (named in the
/// conninfos and in `.pgpass`) and its own socket directory (given as `PGHOST` where libpq would
/// use its built-in /var/run/postgresql); the daemon's system user `omnisync` is played by the
/// user running the test, which has a database role of the same name.
final class GuideOnDebianTests: XCTestCase {
    static let debianHBA = """
        local   all             postgres                                peer
        local   all             all                                     peer
        host    all             all             127.0.0.1/32            scram-sha-256
        host    all             all             ::1/128                 scram-sha-256
        local   replication     all                                     peer
        host    replication     all             127.0.0.1/32            scram-sha-256
        host    replication     all             ::1/128                 scram-sha-256

        """

    let ownerPassword = "Owner-Secret-7"

    func testTheGuidesMigrateStepWorksAsRootWithDebiansAuthentication() throws {
        // The commands run below are the guide's (a minimal Debian has no sudo).
        let guide = try String(
            contentsOf: ServiceTestsRepository.url.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        for command in [
            "PGHOST=localhost PGUSER=shop_owner omnisync migrate ",
            "runuser -u postgres -- psql -d shop -v role=omnisync -f /usr/local/share/omnisync/omnisync_role.sql",
            "localhost:5432:*:shop_owner:", "conninfo = dbname=shop\n", "runuser -u omnisync -- omnisync status",
        ] {
            XCTAssertTrue(guide.contains(command), "the guide does not say: \(command)")
        }
        XCTAssertFalse(guide.contains("sudo "), "the guide uses sudo")

        let clusters = try TestClusters.fromEnvironment()
        let control = try XCTUnwrap(clusters.controlScript, "OMNISYNC_PGCLUSTER is not set")
        let binary = try XCTUnwrap(TestClusters.binaryPath, "OMNISYNC_BIN is not set")
        let directory = try temporaryDirectory()
        defer { _ = try? Subprocess.run(control, arguments: ["stop", directory], timeout: 60) }
        let started = try Subprocess.run(control, arguments: ["start", directory, "1"], timeout: 120)
        XCTAssertEqual(started.termination, .exited(0), started.stderr)
        let admin = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try XCTUnwrap(admin.split(separator: " ").first { $0.hasPrefix("port=") }?.dropFirst(5))
        let socketDirectory = directory + "/s0"
        let operatorRole = String(cString: getpwuid(geteuid()).pointee.pw_name)

        // The application's owner has a password; the daemon's role is named after its system user.
        let setup = try PostgresConnection.connect(conninfo: admin)
        for statement in [
            "CREATE ROLE shop_owner LOGIN PASSWORD '\(ownerPassword)'",
            "CREATE DATABASE shop OWNER shop_owner", "CREATE DATABASE pos OWNER shop_owner",
        ] {
            try setup.query(statement, label: "guide test setup")
        }
        setup.close()
        // Debian's authentication, and TCP on localhost, as a Debian server has.
        try Self.debianHBA.write(toFile: directory + "/0/pg_hba.conf", atomically: false, encoding: .utf8)
        let conf = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/0/postgresql.conf"))
        conf.seekToEndOfFile()
        conf.write(Data("listen_addresses = '127.0.0.1'\n".utf8))
        try conf.close()
        for step in ["stop-one", "start-one"] {
            let run = try Subprocess.run(control, arguments: [step, directory, "0"], timeout: 60)
            XCTAssertEqual(run.termination, .exited(0), "\(step): \(run.stderr)")
        }

        // The guide's configuration: conninfos without host or user.
        let config = directory + "/omnisync.conf"
        try "[site web]\nconninfo = dbname=shop port=\(port)\n\n[site store-1]\nconninfo = dbname=pos port=\(port)\n"
            .write(toFile: config, atomically: false, encoding: .utf8)
        // Root's ~/.pgpass, as the guide writes it.
        let home = directory + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try "localhost:\(port):*:shop_owner:\(ownerPassword)\n".write(toFile: home + "/.pgpass", atomically: false, encoding: .utf8)
        chmod(home + "/.pgpass", 0o600)
        let base: [String: String?] = ["HOME": home, "PGPASSWORD": nil, "PGPASSFILE": nil, "PGUSER": nil, "PGHOST": nil]

        // What the guide said before: over the local socket, root cannot be the owner.
        let socketConfig = directory + "/socket.conf"
        try "[site web]\nconninfo = host=\(socketDirectory) dbname=shop port=\(port)\n\n[site store-1]\nconninfo = host=\(socketDirectory) dbname=pos port=\(port)\n"
            .write(toFile: socketConfig, atomically: false, encoding: .utf8)
        let refused = try Subprocess.run(
            binary, arguments: ["migrate", "-c", socketConfig],
            environment: Subprocess.environment(adding: base.merging(["PGUSER": "shop_owner"]) { $1 }), timeout: 60)
        XCTAssertEqual(refused.termination, .exited(69), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("Peer authentication failed"), refused.stderr)

        // The guide's step: PGHOST=localhost PGUSER=shop_owner omnisync migrate
        let migrateEnvironment = Subprocess.environment(
            adding: base.merging(["PGHOST": "localhost", "PGUSER": "shop_owner"]) { $1 })
        let migrated = try Subprocess.run(binary, arguments: ["migrate", "-c", config], environment: migrateEnvironment, timeout: 60)
        XCTAssertEqual(migrated.termination, .exited(0), migrated.stderr)
        let latest = Migration.latestVersion
        XCTAssertEqual(
            migrated.stdout, "web: migrated from version 0 to \(latest)\nstore-1: migrated from version 0 to \(latest)\n",
            migrated.stderr)
        let again = try Subprocess.run(binary, arguments: ["migrate", "-c", config], environment: migrateEnvironment, timeout: 60)
        XCTAssertEqual(again.termination, .exited(0), again.stderr)
        XCTAssertEqual(again.stdout, "web: up to date (version \(latest))\nstore-1: up to date (version \(latest))\n")

        // The role script as the guide runs it (as root: runuser -u postgres -- psql -d shop …),
        // then `status` as the daemon's user, by peer authentication and without a password.
        guard geteuid() == 0 else { return }  // only root can be postgres; the migrate step is checked
        let script = ServiceTestsRepository.url.appendingPathComponent("schema/roles/omnisync_role.sql").path
        for database in ["shop", "pos"] {
            let granted = try Subprocess.run(
                "/usr/sbin/runuser",
                arguments: [
                    "-u", "postgres", "--", "psql", "-X", "-q", "-h", socketDirectory, "-p", String(port), "-d", database,
                    "-v", "role=\(operatorRole)", "-f", script,
                ], timeout: 60)
            XCTAssertEqual(granted.termination, .exited(0), "role script in \(database): \(granted.stderr)")
        }
        let status = try Subprocess.run(
            binary, arguments: ["status", "-c", config],
            environment: Subprocess.environment(adding: base.merging(["PGHOST": socketDirectory]) { $1 }), timeout: 60)
        XCTAssertEqual(status.termination, .exited(0), status.stderr)
        XCTAssertTrue(status.stdout.contains("site web: reachable, schema \(latest)"), status.stdout)
        XCTAssertTrue(status.stdout.contains("site store-1: reachable, schema \(latest)"), status.stdout)
    }

    /// A short directory under /tmp that the `postgres` user can traverse (socket paths are short).
    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/omni-guide-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw GuideTestFailure(description: "mkdtemp: \(errno)") }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }
}

private enum ServiceTestsRepository {
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

private struct GuideTestFailure: Error, CustomStringConvertible {
    let description: String
}
