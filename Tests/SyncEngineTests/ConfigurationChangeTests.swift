import DaemonKit
import Foundation
import SyncEngine
import XCTest

/// What a SIGHUP must do is read from the settings table: which keys changed, and whether the
/// change applies in place or takes new connections.
final class ConfigurationChangeTests: XCTestCase {
    private func configuration(_ text: String) throws -> Configuration {
        try Configuration.parse(text, path: "/etc/omnisync/omnisync.conf")
    }

    private let sites = """
        [site web]
        conninfo = dbname=shop

        [site store-1]
        conninfo = dbname=pos
        """

    func testTheSameFileChangesNothing() throws {
        let old = try configuration("[daemon]\nbatch_size = 10\n\n" + sites)
        XCTAssertEqual(ConfigurationChange.between(old, old), [])
    }

    func testTheLogKeysApplyInPlace() throws {
        let old = try configuration(sites)
        let new = try configuration("[daemon]\nlog_level = debug\nlog_format = json\n\n" + sites)
        XCTAssertEqual(
            ConfigurationChange.between(old, new),
            [ConfigurationChange(name: "log_level", effect: .inPlace), ConfigurationChange(name: "log_format", effect: .inPlace)])
    }

    func testBatchingAndMetricsRenewConnections() throws {
        let old = try configuration(sites)
        let new = try configuration(
            "[daemon]\nbatch_size = 10\npoll_interval_ms = 100\nmetrics_file = /tmp/omnisync.prom\n\n" + sites)
        XCTAssertEqual(
            ConfigurationChange.between(old, new).map(\.name), ["batch_size", "poll_interval_ms", "metrics_file"])
        XCTAssertTrue(ConfigurationChange.between(old, new).allSatisfy { $0.effect == .renewsConnections })
    }

    /// Every `[daemon]` key of the table is compared: a key added to the table is covered without
    /// touching the reload code.
    func testEveryDaemonKeyOfTheTableIsCompared() throws {
        let old = try configuration(sites)
        let values = ["log_level": "debug", "log_format": "json", "batch_size": "7", "poll_interval_ms": "50",
                      "metrics_file": "/tmp/x.prom"]
        for key in ConfigurationSettings.keys(in: .daemon) {
            let value = try XCTUnwrap(values[key], "give the test a value for the new key \(key)")
            let new = try configuration("[daemon]\n\(key) = \(value)\n\n" + sites)
            let setting = try XCTUnwrap(ConfigurationSettings.setting(section: .daemon, key: key))
            XCTAssertEqual(ConfigurationChange.between(old, new), [ConfigurationChange(name: key, effect: setting.onReload)])
        }
    }

    func testSitesAddedRemovedOrChangedRenewConnections() throws {
        let old = try configuration(sites)
        let new = try configuration("""
            [site web]
            conninfo = dbname=shop host=db1

            [site store-2]
            conninfo = dbname=pos2
            """)
        XCTAssertEqual(
            ConfigurationChange.between(old, new),
            ["[site store-1]", "[site store-2]", "[site web]"].map { ConfigurationChange(name: $0, effect: .renewsConnections) })
    }

    /// A comment added above a section moves it down the file; that is not a change, and must not
    /// reconnect every site.
    func testASectionThatMovedInTheFileIsNotAChange() throws {
        let old = try configuration(sites)
        let new = try configuration("# the chain's sites\n\n[site store-1]\nconninfo = dbname=pos\n\n[site web]\nconninfo = dbname=shop\n")
        XCTAssertNotEqual(old.sites.map(\.line), new.sites.map(\.line))
        XCTAssertEqual(ConfigurationChange.between(old, new), [])
    }

    func testDeclaredTablesChangedRenewConnectionsAndMovedOnesDoNot() throws {
        let table = "\n\n[table pos.inventory]\nkey = id\ncolumn.qty = counter\n"
        let old = try configuration(sites + table)
        XCTAssertEqual(ConfigurationChange.between(try configuration(sites), old), [
            ConfigurationChange(name: "[table] sections", effect: .renewsConnections),
        ])
        let moved = try configuration("[daemon]\n\n\n" + sites + table)
        XCTAssertEqual(ConfigurationChange.between(old, moved), [], "where the section sits is not a change")
        let ruled = try configuration(sites + table.replacingOccurrences(of: "counter", with: "lww"))
        XCTAssertEqual(ConfigurationChange.between(old, ruled).map(\.name), ["[table] sections"])
    }
}
