import DaemonKit
import Foundation
import SyncEngine
import XCTest

/// `deploy/omnisync.conf.example` must stay what the settings table generates.
final class ConfigurationExampleTests: XCTestCase {
    static let examplePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/omnisync.conf.example").path

    func exampleText() throws -> String {
        if ProcessInfo.processInfo.environment["OMNISYNC_UPDATE_EXAMPLE"] == "1" {
            try ConfigurationSettings.exampleFile().write(toFile: Self.examplePath, atomically: true, encoding: .utf8)
        }
        return try String(contentsOfFile: Self.examplePath, encoding: .utf8)
    }

    func testExampleFileIsGeneratedFromTheSettingsTable() throws {
        XCTAssertEqual(
            try exampleText(), ConfigurationSettings.exampleFile(),
            "deploy/omnisync.conf.example is out of date; regenerate it with OMNISYNC_UPDATE_EXAMPLE=1 swift test"
                + " --filter ConfigurationExampleTests")
    }

    func testExampleShowsEveryKeyAndNothingElse() throws {
        let text = try exampleText()
        var shown: [String: [String]] = [:]
        var section = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("[") {
                section = line.hasPrefix("[site ") ? "site" : String(line.dropFirst().dropLast())
                continue
            }
            // The declared table, commented out: its keys are the catalog's, checked below.
            if line.hasPrefix("#[table ") { section = "table" }
            if section == "table" { continue }
            // An assignment, possibly commented out: `key = value` or `#key = value`.
            let body = line.hasPrefix("#") ? line.dropFirst() : line[...]
            guard let equals = body.firstIndex(of: "="), !body.hasPrefix(" ") else { continue }
            shown[section, default: []].append(body[..<equals].trimmingCharacters(in: .whitespaces))
        }
        for setting in ConfigurationSettings.all {
            XCTAssertTrue(
                shown[setting.section.rawValue, default: []].contains(setting.key),
                "\(setting.key) missing from the example")
        }
        let known = Set(ConfigurationSettings.all.map { "\($0.section.rawValue).\($0.key)" })
        for (section, keys) in shown {
            for key in keys {
                XCTAssertTrue(known.contains("\(section).\(key)"), "example shows unknown key \(section).\(key)")
            }
        }
    }

    func testExampleParsesWithTheDefaults() throws {
        let configuration = try Configuration.parse(try exampleText(), path: Self.examplePath)
        XCTAssertEqual(configuration.daemon, DaemonSettings(), "the example must show the real defaults")
        XCTAssertEqual(configuration.sites.map(\.name), ConfigurationSettings.exampleSites.map(\.name))
        XCTAssertGreaterThanOrEqual(configuration.sites.count, 2)
    }

    func testTheExampleTableSectionParsesOnceUncommented() throws {
        let table = ConfigurationSettings.exampleTable.filter { $0.hasPrefix("#[") || ($0.hasPrefix("#") && $0.contains(" = ")) }
            .map { String($0.dropFirst()) }.joined(separator: "\n")
        XCTAssertTrue(table.hasPrefix("[table pos.inventory]"), table)
        let configuration = try Configuration.parse(try exampleText() + "\n" + table + "\n", path: Self.examplePath)
        XCTAssertEqual(configuration.declaredTables.map(\.name.description), ["pos.inventory"])
        XCTAssertNoThrow(try configuration.requireOnlyBuiltInReplication())
    }

    func testExampleDocumentsEveryKeyWithItsDefault() throws {
        let text = try exampleText()
        for setting in ConfigurationSettings.all {
            for sentence in setting.documentation {
                XCTAssertTrue(text.contains("# " + sentence), "\(setting.key): documentation missing")
            }
            if let value = setting.defaultText {
                XCTAssertTrue(text.contains("Default: \(value)."), "\(setting.key): default not shown")
                XCTAssertTrue(text.contains("\n\(setting.key) = \(value)\n"), "\(setting.key): default not set")
            }
        }
    }

    func testTableDefaultsAreTheDaemonSettingsDefaults() {
        let defaults = Dictionary(
            uniqueKeysWithValues: ConfigurationSettings.all.filter { $0.section == .daemon }.map { ($0.key, $0.defaultText) })
        XCTAssertEqual(defaults["log_level"], "info")
        XCTAssertEqual(defaults["log_format"], "logfmt")
        XCTAssertEqual(defaults["batch_size"], "1000")
        XCTAssertEqual(defaults["poll_interval_ms"], "5000")
        XCTAssertEqual(defaults["metrics_file"], .some(nil))
    }

    func testEveryValidatorAcceptsItsDefaultAndRejectsGarbage() {
        for setting in ConfigurationSettings.all {
            if let value = setting.defaultText ?? setting.example {
                XCTAssertNil(setting.problem(with: value), setting.key)
            }
            XCTAssertNotNil(setting.problem(with: ""), "\(setting.key) accepts an empty value")
        }
    }
}
