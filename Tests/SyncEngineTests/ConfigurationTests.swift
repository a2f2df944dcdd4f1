import DaemonKit
import Foundation
import SyncEngine
import TestSupport
import XCTest

final class ConfigurationTests: XCTestCase {
    let path = "/etc/omnisync/test.conf"

    let twoSites = """
        [site web]
        conninfo = host=/tmp dbname=shop

        [site store-1]
        conninfo = postgresql://u@h/pos?sslmode=require#x
        """

    /// Parses `text` expecting an error at `line` naming `key` with a message containing `message`.
    func assertError(
        _ text: String, line: Int?, key: String?, message: String, file: StaticString = #filePath, lineNumber: UInt = #line
    ) {
        do {
            let configuration = try Configuration.parse(text, path: path)
            XCTFail("parsed without error: \(configuration)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.file, path, file: file, line: lineNumber)
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: lineNumber)
            XCTAssertTrue(error.message.contains(message), "\(error)", file: file, line: lineNumber)
            let location = path + (line.map { ":\($0)" } ?? "") + ": " + (key.map { "key '\($0)': " } ?? "")
            XCTAssertTrue(error.description.hasPrefix(location), error.description, file: file, line: lineNumber)
        }
    }

    func testMinimalFileGetsDefaults() throws {
        let configuration = try Configuration.parse(twoSites, path: path)
        XCTAssertEqual(configuration.path, path)
        XCTAssertEqual(configuration.daemon, DaemonSettings())
        XCTAssertEqual(
            configuration.sites,
            [
                SiteConfig(name: "web", conninfo: "host=/tmp dbname=shop", line: 1),
                SiteConfig(name: "store-1", conninfo: "postgresql://u@h/pos?sslmode=require#x", line: 4),
            ])
        XCTAssertEqual(configuration.site(named: "store-1")?.line, 4)
        XCTAssertNil(configuration.site(named: "nowhere"))
    }

    func testEveryDaemonKey() throws {
        let text = """
            [daemon]
            log_level = warning     # quieter
            log_format = json
            batch_size = 100000
            poll_interval_ms = 10
            metrics_file = /var/lib/prometheus/node-exporter/omnisync.prom

            """ + twoSites
        let configuration = try Configuration.parse(text, path: path)
        XCTAssertEqual(
            configuration.daemon,
            DaemonSettings(
                logLevel: .warning, logFormat: .json, batchSize: 100_000, pollIntervalMs: 10,
                metricsFile: "/var/lib/prometheus/node-exporter/omnisync.prom"))
    }

    func testSitesKeepFileOrderWithDaemonSectionAnywhere() throws {
        let text = twoSites + "\n[daemon]\nbatch_size = 5\n[site zz-3]\nconninfo = x\n"
        let configuration = try Configuration.parse(text, path: path)
        XCTAssertEqual(configuration.sites.map(\.name), ["web", "store-1", "zz-3"])
        XCTAssertEqual(configuration.daemon.batchSize, 5)
    }

    func testSiteDescriptionDoesNotShowConninfo() {
        let site = SiteConfig(name: "web", conninfo: "password=secret", line: 1)
        XCTAssertFalse("\(site)".contains("secret"))
    }

    func testHubAndLocations() throws {
        let text = """
            [site web]
            conninfo = x
            hub = yes

            [site store-042]
            conninfo = y
            locations = store-042,store-042-backroom ,  "Kiosk 1"
            hub = no
            """
        let configuration = try Configuration.parse(text, path: path)
        XCTAssertEqual(
            configuration.sites,
            [
                SiteConfig(name: "web", conninfo: "x", isHub: true, line: 1),
                SiteConfig(name: "store-042", conninfo: "y", locations: ["store-042", "store-042-backroom", "\"Kiosk 1\""], line: 5),
            ])
        // By default a site is no hub and sells from its own name.
        let plain = try Configuration.parse(twoSites, path: path)
        XCTAssertEqual(plain.sites.map(\.isHub), [false, false])
        XCTAssertEqual(plain.sites.map(\.locations), [["web"], ["store-1"]])
    }

    func testBadHubAndLocations() {
        assertError(twoSites + "\nhub = true\n", line: 6, key: "hub", message: "expected yes or no, got 'true'")
        assertError(twoSites + "\nlocations = a,,b\n", line: 6, key: "locations", message: "a location is empty")
        assertError(twoSites + "\nlocations = a, b, a\n", line: 6, key: "locations", message: "the location 'a' is listed twice")
        assertError(twoSites + "\nlocations = a,\n", line: 6, key: "locations", message: "a location is empty")
    }

    func testChangingAHubOrLocationsRenewsConnections() throws {
        let before = try Configuration.parse(twoSites, path: path)
        let hub = try Configuration.parse(twoSites.replacingOccurrences(of: "dbname=shop", with: "dbname=shop\nhub = yes"), path: path)
        XCTAssertEqual(ConfigurationChange.between(before, hub), [ConfigurationChange(name: "[site web]", effect: .renewsConnections)])
        let moved = try Configuration.parse(twoSites + "\nlocations = store-1, store-1-backroom\n", path: path)
        XCTAssertEqual(ConfigurationChange.between(before, moved), [ConfigurationChange(name: "[site store-1]", effect: .renewsConnections)])
        let spelledOut = try Configuration.parse(twoSites + "\nlocations = store-1\nhub = no\n", path: path)
        XCTAssertEqual(ConfigurationChange.between(before, spelledOut), [], "the defaults written out are no change")
    }

    // MARK: every kind of mistake

    func testDuplicateSiteNamesTheSecondHeader() {
        assertError(twoSites + "\n\n[site web]\nconninfo = x\n", line: 7, key: nil, message: "duplicate site 'web' (first defined on line 1)")
    }

    func testBadSiteNames() {
        for name in ["Web", "web_1", "wéb", String(repeating: "a", count: 64), "a.b"] {
            assertError("[site \(name)]\nconninfo = x\n" + twoSites, line: 1, key: nil, message: "invalid site name '\(name)'")
        }
        assertError("[site web shop]\nconninfo = x\n" + twoSites, line: 1, key: nil, message: "invalid site name 'web shop'")
        assertError("[site]\nconninfo = x\n" + twoSites, line: 1, key: nil, message: "a site section needs a name")
        XCTAssertTrue(ConfigurationSettings.isValidSiteName(String(repeating: "a", count: 63)))
        XCTAssertTrue(ConfigurationSettings.isValidSiteName("store-042"))
        XCTAssertFalse(ConfigurationSettings.isValidSiteName(""))
    }

    /// The site-name rule exists in Swift (MergeCore's `SiteName`) and, as a check constraint,
    /// in schema/0001: on seeded names near every edge of the rule, the two must agree.
    func testSiteNameRuleAgreesWithTheSchemaCheck() throws {
        let sql = try XCTUnwrap(Migration.all.first { $0.version == 1 }?.sql)
        let start = try XCTUnwrap(sql.range(of: "name ~ '"), "the check on omnisync.site.name").upperBound
        let pattern = String(sql[start...].prefix { $0 != "'" })
        XCTAssertTrue(pattern.hasPrefix("^") && pattern.hasSuffix("$"), pattern)
        let schemaRule = try NSRegularExpression(pattern: pattern)
        var generator = SeededGenerator(seed: 0x5173)
        let alphabet = Array("abcxyz019-_A Zé.")
        var names = ["", "a", "-", String(repeating: "a", count: 63), String(repeating: "a", count: 64), "store-042"]
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...66, using: &generator)
            names.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for name in names {
            let whole = NSRange(name.startIndex..., in: name)
            let schemaAccepts = schemaRule.firstMatch(in: name, range: whole) != nil
            XCTAssertEqual(ConfigurationSettings.isValidSiteName(name), schemaAccepts, "site name '\(name)'")
        }
    }

    func testUnknownKeyInEachSection() {
        assertError("[daemon]\n\nloglevel = info\n" + twoSites, line: 3, key: "loglevel", message: "unknown key in [daemon]")
        assertError(twoSites + "\nport = 5432\n", line: 6, key: "port", message: "unknown key in [site store-1]")
        // A daemon key is not a site key.
        assertError(twoSites + "\nbatch_size = 5\n", line: 6, key: "batch_size", message: "unknown key")
    }

    func testUnknownAndMalformedSections() {
        assertError("[deamon]\n" + twoSites, line: 1, key: nil, message: "unknown section [deamon]")
        assertError("[daemon main]\n" + twoSites, line: 1, key: nil, message: "section [daemon] takes no name")
        assertError("[daemon]\n[daemon]\n" + twoSites, line: 2, key: nil, message: "duplicate section [daemon] (first on line 1)")
        assertError("[site web\n", line: 1, key: nil, message: "missing its closing ']'")
        assertError("batch_size = 5\n" + twoSites, line: 1, key: "batch_size", message: "outside any section")
        assertError(twoSites + "\nconninfo = again\n", line: 6, key: "conninfo", message: "set twice in [site store-1] (first on line 5)")
    }

    func testMissingConninfoNamesTheSiteHeader() {
        assertError(twoSites + "\n[site store-2]\n# no conninfo\n", line: 6, key: "conninfo", message: "required in [site store-2]")
        assertError(twoSites + "\n[site store-2]\nconninfo =\n", line: 7, key: "conninfo", message: "must not be empty")
    }

    func testFewerThanTwoSites() {
        assertError("[site web]\nconninfo = x\n", line: nil, key: nil, message: "at least two [site NAME] sections are required, found 1")
        assertError("", line: nil, key: nil, message: "found 0")
        assertError("[daemon]\nlog_level = info\n", line: nil, key: nil, message: "found 0")
    }

    func testBadValues() {
        let cases: [(key: String, value: String, message: String)] = [
            ("log_level", "verbose", "expected one of debug, info, notice, warning, error, got 'verbose'"),
            ("log_level", "INFO", "expected one of"),
            ("log_format", "text", "expected one of logfmt, json, got 'text'"),
            ("batch_size", "0", "expected a whole number from 1 to 100000, got '0'"),
            ("batch_size", "100001", "from 1 to 100000"),
            ("batch_size", "-5", "from 1 to 100000"),
            ("batch_size", "1e3", "from 1 to 100000"),
            ("batch_size", "", "from 1 to 100000"),
            ("batch_size", "99999999999999999999999", "from 1 to 100000"),
            ("poll_interval_ms", "9", "expected a whole number from 10 to 3600000, got '9'"),
            ("poll_interval_ms", "3600001", "from 10 to 3600000"),
            ("poll_interval_ms", "5s", "from 10 to 3600000"),
            ("metrics_file", "omnisync.prom", "expected an absolute file path, got 'omnisync.prom'"),
            ("metrics_file", "/var/lib/", "expected an absolute file path"),
            ("metrics_file", "", "expected an absolute file path"),
        ]
        for testCase in cases {
            assertError(
                "# comment\n[daemon]\n\(testCase.key) = \(testCase.value)\n" + twoSites,
                line: 3, key: testCase.key, message: testCase.message)
        }
    }

    func testTheFirstMistakeInTheFileIsReported() {
        assertError("[daemon]\nbatch_size = 0\nlog_level = loud\n" + twoSites, line: 2, key: "batch_size", message: "from 1")
    }

    // MARK: loading

    func testLoadReadsTheFile() throws {
        let file = try temporaryFile(twoSites)
        let configuration = try Configuration.load(path: file)
        XCTAssertEqual(configuration.path, file)
        XCTAssertEqual(configuration.sites.count, 2)
    }

    func testMissingFileIsAnErrorNamingIt() {
        XCTAssertThrowsError(try Configuration.load(path: "/nonexistent/omnisync.conf")) { error in
            XCTAssertEqual(
                "\(error)", "/nonexistent/omnisync.conf: cannot read configuration file: No such file or directory")
        }
    }

    func testDirectoryIsUnreadable() {
        let directory = NSTemporaryDirectory()
        XCTAssertThrowsError(try Configuration.load(path: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory): cannot read configuration file: Is a directory")
        }
    }

    func testUnreadableFileIsAnErrorNamingIt() throws {
        let file = try temporaryFile(twoSites)
        chmod(file, 0)
        // root reads anything; the check only means something for other users.
        if access(file, R_OK) == 0 { throw XCTSkip("running as root: permissions are not enforced") }
        XCTAssertThrowsError(try Configuration.load(path: file)) { error in
            XCTAssertEqual("\(error)", "\(file): cannot read configuration file: Permission denied")
        }
    }

    func testInvalidUTF8() throws {
        let file = NSTemporaryDirectory() + "omnisync-\(UUID().uuidString).conf"
        try Data([0x5B, 0xFF, 0x5D]).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        XCTAssertThrowsError(try Configuration.load(path: file)) { error in
            XCTAssertEqual("\(error)", "\(file): not valid UTF-8 text")
        }
    }

    func temporaryFile(_ text: String) throws -> String {
        let file = NSTemporaryDirectory() + "omnisync-\(UUID().uuidString).conf"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        addTeardownBlock { unlink(file) }
        return file
    }
}
