import Catalog
import XCTest

/// Names are read as PostgreSQL reads them and always spliced quoted.
final class SQLIdentifierTests: XCTestCase {
    private func parse(_ text: String) throws -> SQLIdentifier { try SQLIdentifier.parse(text) }

    private func assertRefused(
        _ text: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try SQLIdentifier.parse(text), file: file, line: line) { error in
            let message = (error as? SyntaxError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testPlainNamesFoldToLowerCaseAsPostgreSQLDoes() throws {
        XCTAssertEqual(try parse("item_id").name, "item_id")
        XCTAssertEqual(try parse("StockItem").name, "stockitem")
        XCTAssertEqual(try parse("  Qty$2  ").name, "qty$2")
        XCTAssertEqual(try parse("_x").name, "_x")
    }

    func testQuotedNamesKeepCaseSpacesDotsAndCommas() throws {
        XCTAssertEqual(try parse("\"StockItem\"").name, "StockItem")
        XCTAssertEqual(try parse("\"unit price\"").name, "unit price")
        XCTAssertEqual(try parse("\"a.b,c\"").name, "a.b,c")
        XCTAssertEqual(try parse("\"select\"").name, "select")
    }

    func testQuotesInsideANameAreDoubled() throws {
        let name = try parse("\"say \"\"hi\"\"\"")
        XCTAssertEqual(name.name, "say \"hi\"")
        XCTAssertEqual(name.quoted, "\"say \"\"hi\"\"\"")
        XCTAssertEqual(try SQLIdentifier(exactly: "a\"b").quoted, "\"a\"\"b\"")
    }

    func testUnicodeNamesFoldOnlyASCIILettersLikePostgreSQLInUTF8() throws {
        XCTAssertEqual(try parse("café").name, "café")
        XCTAssertEqual(try parse("ÉCOLE").name, "École")
        XCTAssertEqual(try parse("\"Größe\"").name, "Größe")
        XCTAssertEqual(try parse("名前").quoted, "\"名前\"")
    }

    func testQuotedIsAlwaysQuoted() throws {
        XCTAssertEqual(try parse("qty").quoted, "\"qty\"")
        XCTAssertEqual(try parse("\"Qty\"").quoted, "\"Qty\"")
    }

    func testDescriptionIsTheShortestFormThatReadsBack() throws {
        for text in ["qty", "\"Qty\"", "\"unit price\"", "café", "\"ÉCOLE\"", "\"a\"\"b\"", "\"1st\"", "_x$"] {
            let name = try parse(text)
            XCTAssertEqual(try parse(name.description), name, text)
        }
        XCTAssertEqual(try parse("qty").description, "qty")
        XCTAssertEqual(try parse("\"Qty\"").description, "\"Qty\"")
    }

    func testRefusals() {
        assertRefused("", "missing")
        assertRefused("   ", "missing")
        assertRefused("\"\"", "cannot be empty")
        assertRefused("\"open", "no closing")
        assertRefused("1st", "does not start with a name")
        assertRefused("a b", "unexpected text")
        assertRefused("a-b", "unexpected text")
        assertRefused("\"a\u{0}b\"", "NUL")
        assertRefused(String(repeating: "x", count: 64), "64 bytes")
        XCTAssertThrowsError(try SQLIdentifier(exactly: ""))
        XCTAssertThrowsError(try SQLIdentifier(exactly: "a\u{0}"))
    }

    func testTheLimitIsSixtyThreeBytesNotCharacters() throws {
        XCTAssertEqual(try parse(String(repeating: "x", count: 63)).name.utf8.count, 63)
        XCTAssertEqual(try parse(String(repeating: "€", count: 21)).name.utf8.count, 63)
        assertRefused(String(repeating: "€", count: 22), "66 bytes")
    }

    func testNamesCompareByBytes() throws {
        XCTAssertLessThan(try parse("\"B\""), try parse("a"))
        XCTAssertLessThan(try parse("z"), try parse("é"))
    }

    func testListsHonourQuotesAndRefuseRepeats() throws {
        XCTAssertEqual(
            try SQLIdentifier.parseList("item_id, \"Store,Id\" ,x").map(\.name), ["item_id", "Store,Id", "x"])
        XCTAssertThrowsError(try SQLIdentifier.parseList("a, A")) { error in
            XCTAssertEqual((error as? SyntaxError)?.message, "a is named twice")
        }
        XCTAssertThrowsError(try SQLIdentifier.parseList("a,,b"))
        XCTAssertThrowsError(try SQLIdentifier.parseList("a,"))
        XCTAssertThrowsError(try SQLIdentifier.parseList(""))
        XCTAssertThrowsError(try SQLIdentifier.parseList("a b"))
    }

    func testQualifiedNames() throws {
        let name = try QualifiedName.parse("pos.\"StockItem\"")
        XCTAssertEqual(name.schema.name, "pos")
        XCTAssertEqual(name.name.name, "StockItem")
        XCTAssertEqual(name.sql, "\"pos\".\"StockItem\"")
        XCTAssertEqual(name.description, "pos.\"StockItem\"")
        XCTAssertEqual(try QualifiedName.parse("POS.Inventory").sql, "\"pos\".\"inventory\"")
        XCTAssertEqual(try QualifiedName.parse("\"my.schema\".t").schema.name, "my.schema")
        XCTAssertEqual(try QualifiedName.parse(name.description), name)
    }

    func testQualifiedNameRefusals() {
        XCTAssertThrowsError(try QualifiedName.parse("inventory")) { error in
            XCTAssertTrue("\(error)".contains("SCHEMA.NAME"), "\(error)")
        }
        XCTAssertThrowsError(try QualifiedName.parse("a.b.c"))
        XCTAssertThrowsError(try QualifiedName.parse("a."))
        XCTAssertThrowsError(try QualifiedName.parse(".b"))
        XCTAssertThrowsError(try QualifiedName.parse("a . b x"))
    }
}
