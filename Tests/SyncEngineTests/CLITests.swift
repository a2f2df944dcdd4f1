import Foundation
import XCTest

/// The executable's behaviour at its edges: usage errors, configuration errors, version.
/// Nothing here reaches a database.
final class CLITests: XCTestCase {
    func temporaryConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "omnisync-cli-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        addTeardownBlock { unlink(path) }
        return path
    }

    let validConfig = """
        [site web]
        conninfo = host=/nonexistent dbname=shop connect_timeout=1

        [site store-1]
        conninfo = host=/nonexistent dbname=pos connect_timeout=1
        """

    func assertUsage(
        _ arguments: [String], mentions text: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let result = try CLIRunner.run(arguments)
        XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(text), "\(arguments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains("--help' for usage."), result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
    }

    func testVersion() throws {
        let result = try CLIRunner.run(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "omnisync 0.1.0\n")
        XCTAssertEqual(result.stderr, "")
    }

    func testUnknownCommandIsAUsageError() throws {
        try assertUsage(["frobnicate"], mentions: "omnisync: unknown command 'frobnicate'")
        try assertUsage([], mentions: "omnisync: missing command")
        try assertUsage(["Status"], mentions: "unknown command 'Status'")
    }

    func testUnknownOptionIsAUsageError() throws {
        try assertUsage(["--bogus"], mentions: "omnisync: unknown option '--bogus'")
        try assertUsage(["status", "--bogus"], mentions: "unknown option '--bogus'")
        try assertUsage(["migrate", "-x"], mentions: "unknown option '-x'")
        try assertUsage(["run", "--json"], mentions: "unknown option '--json'")
        try assertUsage(["verify", "--all"], mentions: "unknown option '--all'")
        try assertUsage(["status", "--json=yes"], mentions: "option --json takes no value")
        try assertUsage(["status", "--json", "--json"], mentions: "option --json given more than once")
    }

    func testMissingOptionValueIsAUsageError() throws {
        try assertUsage(["status", "-c"], mentions: "option --config needs a value (FILE)")
        try assertUsage(["migrate", "--site"], mentions: "option --site needs a value (NAME)")
        try assertUsage(["status", "--config="], mentions: "option --config needs a value")
    }

    func testUnexpectedArgumentIsAUsageError() throws {
        try assertUsage(["status", "extra"], mentions: "unexpected argument 'extra'")
        try assertUsage(["conflicts", "resolve", "1", "2"], mentions: "unexpected argument '2'")
    }

    func testResolveWithoutIDIsAUsageError() throws {
        try assertUsage(["conflicts", "resolve"], mentions: "omnisync: missing conflict ID")
        try assertUsage(["conflicts", "resolve", "-c", "/nonexistent.conf"], mentions: "missing conflict ID")
    }

    func testMigrateSiteMustBeInTheConfiguration() throws {
        let config = try temporaryConfig(validConfig)
        try assertUsage(["migrate", "-c", config, "--site", "nowhere"], mentions: "no site 'nowhere' in \(config)")
        try assertUsage(["migrate", "-c", config, "--site", "Bad_Name"], mentions: "'Bad_Name' is not a valid site name")
    }

    /// Every command validates the configuration before doing anything and names the file,
    /// line and key of the mistake.
    func testBadConfigurationExits78NamingFileLineAndKey() throws {
        let config = try temporaryConfig("[daemon]\nlog_level = info\nbogus_key = 1\n" + validConfig)
        let commands = [
            ["migrate"], ["run"], ["status"], ["status", "--json"], ["verify"], ["conflicts"],
            ["conflicts", "resolve", "7"],
        ]
        for command in commands {
            for form in [["-c", config], ["--config", config], ["--config=\(config)"]] {
                let result = try CLIRunner.run(command + form)
                XCTAssertEqual(result.status, 78, "\(command): \(result.stderr)")
                XCTAssertTrue(
                    result.stderr.hasPrefix("omnisync: \(config):3: key 'bogus_key': unknown key in [daemon]"),
                    "\(command): \(result.stderr)")
                XCTAssertEqual(result.stdout, "")
            }
        }
    }

    func testBadValueAndDuplicateSiteExit78() throws {
        let badValue = try temporaryConfig(validConfig + "\n\n[daemon]\nbatch_size = 0\n")
        var result = try CLIRunner.run(["status", "-c", badValue])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("\(badValue):8: key 'batch_size': expected a whole number"), result.stderr)

        let duplicate = try temporaryConfig(validConfig + "\n[site web]\nconninfo = x\n")
        result = try CLIRunner.run(["run", "-c", duplicate])
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("\(duplicate):6: duplicate site 'web'"), result.stderr)
    }

    func testMissingConfigurationFileExits78() throws {
        let missing = "/nonexistent/omnisync-\(UUID().uuidString).conf"
        for command in [["run"], ["status"], ["migrate"]] {
            let result = try CLIRunner.run(command + ["-c", missing])
            XCTAssertEqual(result.status, 78, "\(command)")
            XCTAssertEqual(
                result.stderr, "omnisync: \(missing): cannot read configuration file: No such file or directory\n")
        }
    }

    /// Every kind of configuration mistake stops every command before it touches a site: exit 78
    /// and one line naming the file, the line and the key where they are known.
    func testEveryKindOfConfigurationMistakeExits78NamingFileLineAndKey() throws {
        let cases: [(text: String, message: String)] = [
            ("[site Store_1]\nconninfo = x\n" + validConfig,
             ":1: invalid site name 'Store_1': use 1-63 characters of a-z, 0-9 and '-'"),
            ("[site \(String(repeating: "a", count: 64))]\nconninfo = x\n" + validConfig, ":1: invalid site name 'aaaa"),
            (validConfig + "\nport = 5432\n", ":6: key 'port': unknown key in [site store-1]"),
            (validConfig + "\n\n[site store-2]\n# no conninfo\n", ":7: key 'conninfo': required in [site store-2]"),
            (validConfig + "\n\n[site store-2]\nconninfo =\n", ":8: key 'conninfo': must not be empty"),
            (validConfig + "\n\n[site web]\nconninfo = x\n", ":7: duplicate site 'web' (first defined on line 1)"),
            ("[site web]\nconninfo = x\n", ": at least two [site NAME] sections are required, found 1"),
            ("[deamon]\n" + validConfig, ":1: unknown section [deamon]; expected [daemon], [site NAME] or [table SCHEMA.NAME]"),
            ("[daemon]\nlog_level = loud\n" + validConfig, ":2: key 'log_level': expected one of debug, info, notice, warning, error, got 'loud'"),
        ]
        for (text, message) in cases {
            let config = try temporaryConfig(text)
            for command in [["run"], ["migrate"], ["status"], ["verify"], ["conflicts"]] {
                let result = try CLIRunner.run(command + ["-c", config])
                XCTAssertEqual(result.status, 78, "\(command) \(message): \(result.stderr)")
                XCTAssertTrue(result.stderr.hasPrefix("omnisync: \(config)\(message)"), "\(command): \(result.stderr)")
                XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "one line: \(result.stderr)")
                XCTAssertEqual(result.stdout, "")
            }
        }
    }

    func testUnreadableConfigurationExits78() throws {
        let directory = NSTemporaryDirectory() + "omnisync-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var result = try CLIRunner.run(["run", "-c", directory])
        XCTAssertEqual(result.status, 78)
        XCTAssertEqual(result.stderr, "omnisync: \(directory): cannot read configuration file: Is a directory\n")

        let binary = directory + "/binary.conf"
        try Data([0x5B, 0x73, 0x69, 0x74, 0x65, 0xFF, 0x5D]).write(to: URL(fileURLWithPath: binary))
        result = try CLIRunner.run(["migrate", "-c", binary])
        XCTAssertEqual(result.status, 78)
        XCTAssertEqual(result.stderr, "omnisync: \(binary): not valid UTF-8 text\n")

        let locked = try temporaryConfig(validConfig)
        chmod(locked, 0)
        // root reads anything; the check means something only for other users.
        if access(locked, R_OK) != 0 {
            result = try CLIRunner.run(["status", "-c", locked])
            XCTAssertEqual(result.status, 78)
            XCTAssertEqual(result.stderr, "omnisync: \(locked): cannot read configuration file: Permission denied\n")
        }
    }
}
