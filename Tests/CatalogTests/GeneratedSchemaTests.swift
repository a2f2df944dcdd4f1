import Catalog
import Foundation
import XCTest

/// schema/0007 is generated from the built-in specs of CONTRACT §7: the file must be what the
/// generator writes, so the tables can never drift from the rules the engine merges by.
final class GeneratedSchemaTests: XCTestCase {
    private static let file = "schema/0007_retail_customers_loyalty_order_status.sql"

    func testSchema0007IsWhatTheGeneratorWrites() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.appendingPathComponent(Self.file)
        let generated = try BuiltInTables.generatedCaptureMigration()
        if ProcessInfo.processInfo.environment["OMNISYNC_UPDATE_SCHEMA"] == "1" {
            try generated.write(to: url, atomically: true, encoding: .utf8)
        }
        let file = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(
            file, generated,
            "\(Self.file) differs from the generator; OMNISYNC_UPDATE_SCHEMA=1 swift test rewrites it (then scripts/embed-schema.sh)")
    }

    func testTheGeneratedTablesAreTheContractsWithTheirRules() {
        let tables = BuiltInTables.generatedCapture.map(BuiltInTables.captureTable)
        XCTAssertEqual(tables.map(\.name.description), ["retail.customers", "retail.loyalty", "retail.order_status"])
        XCTAssertEqual(tables[0].columns.map(\.rule), Array(repeating: .lww, count: 5))
        XCTAssertEqual(tables[1].columns.map(\.rule), [.counter])
        XCTAssertEqual(tables[2].columns.map(\.rule), [.status(BuiltInTables.orderStatuses), .lww])
        XCTAssertTrue(tables.allSatisfy { $0.rows == .mutable(delete: .refuse) })
    }
}
