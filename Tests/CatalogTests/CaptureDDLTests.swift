import Catalog
import Foundation
import XCTest

/// The capture generator's output, pinned: a change to what capture does shows up as a diff of a
/// golden file in review. `OMNISYNC_UPDATE_GOLDEN=1` rewrites the golden files after a deliberate
/// change. What the SQL does is tested against PostgreSQL by GeneratedCaptureConformanceTests.
final class CaptureDDLTests: XCTestCase {
    func testAnInventoryTableWithEveryRuleMatchesItsGoldenScript() throws {
        try assertGolden(try CaptureDDL.script(for: inventory(rows: .mutable(delete: .refuse))), "pos-inventory.sql")
    }

    func testAnAddWinsTableMatchesItsGoldenScript() throws {
        try assertGolden(try CaptureDDL.script(for: inventory(rows: .mutable(delete: .addWins))), "pos-inventory-add-wins.sql")
    }

    func testTheScriptIsDeterministic() throws {
        let table = try inventory(rows: .mutable(delete: .refuse))
        XCTAssertEqual(try CaptureDDL.script(for: table), try CaptureDDL.script(for: table))
    }

    func testEveryIdentifierIsQuotedEvenWhenHostile() throws {
        let hostile = try SQLIdentifier(exactly: "x\"); DROP TABLE t; --")
        let table = CaptureTable(
            id: TableID(7), name: QualifiedName(schema: try SQLIdentifier(exactly: "Shop Floor"), name: hostile),
            key: [.init(hostile, .text)], columns: [.init(try SQLIdentifier(exactly: "qty\""), .bigint, .counter)],
            rows: .mutable(delete: .refuse))
        let script = try CaptureDDL.script(for: table)
        XCTAssertFalse(script.contains("\"x\"); DROP"), "a quote inside a name must be doubled")
        XCTAssertTrue(script.contains("\"x\"\"); DROP TABLE t; --\""))
        XCTAssertTrue(script.contains("ON \"Shop Floor\".\"x\"\"); DROP TABLE t; --\""))
        XCTAssertTrue(script.contains("\"qty\"\"$contrib\""))
    }

    func testLongNamesStayWithinSixtyThreeBytesAndApart() throws {
        let long = String(repeating: "ü", count: 30)  // 60 bytes
        let a = try SQLIdentifier(exactly: long + "a"), b = try SQLIdentifier(exactly: long + "b")
        let table = CaptureTable(
            id: TableID(8), name: QualifiedName(schema: try SQLIdentifier(exactly: "pos"), name: try SQLIdentifier(exactly: "t")),
            key: [.init(try SQLIdentifier(exactly: "id"), .integer)],
            columns: [.init(a, .bigint, .counter), .init(b, .bigint, .counter)], rows: .mutable(delete: .refuse))
        let names = try table.stateFields().map(\.name.name)
        XCTAssertEqual(Set(names).count, names.count, "two long columns gave one state column name")
        for name in names {
            XCTAssertLessThanOrEqual(name.utf8.count, 63, name)
            XCTAssertNotNil(String(validating: Array(name.utf8), as: UTF8.self), "cut inside a character: \(name)")
        }
        XCTAssertTrue(names.contains { $0.hasSuffix("$reset_observed") }, "the suffix is kept: \(names)")
    }

    // MARK: - Helpers

    private func inventory(rows: TableSpec.Rows) throws -> CaptureTable {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        return CaptureTable(
            id: TableID(1001), name: QualifiedName(schema: try id("pos"), name: try id("inventory")),
            key: [.init(try id("item_id"), .integer), .init(try id("store_id"), .text)],
            columns: [
                .init(try id("qty"), .bigint, .counter), .init(try id("kg"), SQLType("numeric(12,3)"), .counter),
                .init(try id("price"), SQLType("numeric(12,2)"), .lww), .init(try id("lastSoldAt"), .timestamptz, .greatest), .init(try id("first_price"), SQLType("numeric"), .least),
                .init(try id("status"), .text, .status(["placed", "paid", "ready"])), .init(try id("till_note"), .text, .local),
            ],
            rows: rows)
    }

    private func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
        if ProcessInfo.processInfo.environment["OMNISYNC_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(text, golden, "the generated script differs from \(name); OMNISYNC_UPDATE_GOLDEN=1 rewrites it", file: file, line: line)
    }
}
