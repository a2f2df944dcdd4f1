import Catalog
import SyncEngine
import XCTest

/// `[table SCHEMA.NAME]` sections in the configuration: read into the catalog, quoted names
/// included, with mistakes named by file, line and key; refused by every command but `check`
/// until declared tables are replicated.
final class ConfigurationTableTests: XCTestCase {
    private let sites = "[site web]\nconninfo = dbname=web\n\n[site store-1]\nconninfo = dbname=s1\n\n"

    func testADeclaredTableWithQuotedNamesReachesTheCatalog() throws {
        let text = sites + """
            [table pos."StockItem"]
            key = item_id, "storeId"
            column.qty = counter
            column."lastSoldAt" = greatest
            column.till_note = local
            """
        let configuration = try Configuration.parse(text, path: "/etc/omnisync/omnisync.conf")
        let spec = try XCTUnwrap(configuration.declaredTables.first)
        XCTAssertEqual(spec.name.sql, "\"pos\".\"StockItem\"")
        XCTAssertEqual(spec.key?.map(\.name.name), ["item_id", "storeId"])
        XCTAssertEqual(spec.declaredRule(for: try SQLIdentifier(exactly: "lastSoldAt")), .greatest)
        XCTAssertEqual(configuration.tables.count, 1)
        XCTAssertEqual(configuration.catalog.tables.count, BuiltInTables.all.count + 1)
    }

    func testMistakesInATableSectionNameFileLineAndKey() {
        let cases: [(String, Int, String?, String)] = [
            ("[table pos.inventory]\ncolumn.qty = sum\n", 8, "column.qty", "unknown rule 'sum'"),
            ("[table pos.inventory]\nroute = everywhere\n", 8, "route", "unknown route 'everywhere'"),
            ("[table]\n", 7, nil, "a table section needs a name"),
            ("[table retail.stock]\ncolumn.on_hand = lww\n", 8, "column.on_hand", "rules of the built-in table retail.stock are fixed"),
        ]
        for (section, line, key, fragment) in cases {
            XCTAssertThrowsError(try Configuration.parse(sites + section, path: "x.conf"), section) { error in
                guard let error = error as? ConfigurationError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.file, "x.conf", section)
                XCTAssertEqual(error.line, line, "\(section): \(error)")
                XCTAssertEqual(error.key, key, "\(section): \(error)")
                XCTAssertTrue(error.message.contains(fragment), "\(section): \(error)")
            }
        }
    }

    func testOnlyCheckTakesARouteOtherThanAllForNow() throws {
        let declared = try Configuration.parse(sites + "[table pos.inventory]\nkey = id\n", path: "x.conf")
        XCTAssertNoThrow(try declared.requireOnlyBuiltInReplication(), "a declared table with route all replicates")
        let located = try Configuration.parse(sites + "[table pos.inventory]\nkey = id, store\nroute = location store\n", path: "x.conf")
        XCTAssertThrowsError(try located.requireOnlyBuiltInReplication()) { error in
            let error = error as? ConfigurationError
            XCTAssertEqual(error?.line, 7)
            XCTAssertEqual(error?.key, "route")
            XCTAssertTrue(error?.message.contains("only 'route = all' is supported") ?? false, "\(String(describing: error))")
        }
        let routed = try Configuration.parse(sites + "[table retail.stock]\nroute = all\n", path: "x.conf")
        XCTAssertNoThrow(try routed.requireOnlyBuiltInReplication(), "route = all is what the retail tables do already")
        let checked = try Configuration.parse(sites + "[table retail.stock]\ncheck.low_stock = on_hand >= 5\n", path: "x.conf")
        XCTAssertThrowsError(try checked.requireOnlyBuiltInReplication())
    }
}
