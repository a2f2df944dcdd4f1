import Catalog
import XCTest

/// The description a site records for each declared table reads back as the same table, for
/// every rule and for names and types that need quoting.
final class CaptureTableDescriptionTests: XCTestCase {
    func testEveryRuleAndAwkwardNamesRoundTrip() throws {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        for rows in [TableSpec.Rows.insertOnly, .mutable(delete: .addWins), .mutable(delete: .refuse)] {
            let table = CaptureTable(
                id: TableID(1 << 30 | 77), name: QualifiedName(schema: try id("Shop \"EU\""), name: try id("stock.item's")),
                key: [.init(try id("item_id"), .integer), .init(try id("storeId"), SQLType("character varying(20)"))],
                columns: [
                    .init(try id("qty"), SQLType("numeric(12,3)"), .counter), .init(try id("price"), .text, .lww),
                    .init(try id("hi"), .timestamptz, .greatest), .init(try id("lo"), SQLType("double precision"), .least),
                    .init(try id("state"), .text, .status(["placed", "it's ready", "a b"])),
                    .init(try id("note"), .text, .local), .init(try id("made"), .text, .immutable),
                ],
                rows: rows)
            let text = table.descriptionText
            XCTAssertEqual(try CaptureTable(descriptionText: text), table, text)
            XCTAssertEqual(try CaptureTable(descriptionText: text).descriptionText, text)
        }
    }

    func testAnUnknownFormatOrRuleIsRefusedWithItsLine() {
        let good = "capture 1\ntable 1073741900 \"pos\" \"t\"\nrows mutable add_wins\nkey \"id\" 'integer'\n"
        XCTAssertNoThrow(try CaptureTable(descriptionText: good))
        for (text, fragment) in [
            (good.replacingOccurrences(of: "capture 1", with: "capture 2"), "line 1"),
            (good + "column \"c\" 'text' sum\n", "unknown rule 'sum'"),
            ("capture 1\nrows insert_only\n", "needs its capture format, table, rows and key"),
        ] {
            XCTAssertThrowsError(try CaptureTable(descriptionText: text)) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)")
            }
        }
    }
}
