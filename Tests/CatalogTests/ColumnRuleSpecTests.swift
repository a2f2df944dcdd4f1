import Catalog
import XCTest

final class ColumnRuleSpecTests: XCTestCase {
    private func message(_ text: String) -> String? {
        do {
            _ = try ColumnRuleSpec.parse(text)
            return nil
        } catch { return error.message }
    }

    func testEveryRuleByName() throws {
        XCTAssertEqual(try ColumnRuleSpec.parse("counter"), .counter)
        XCTAssertEqual(try ColumnRuleSpec.parse("lww"), .lww)
        XCTAssertEqual(try ColumnRuleSpec.parse("greatest"), .greatest)
        XCTAssertEqual(try ColumnRuleSpec.parse("least"), .least)
        XCTAssertEqual(try ColumnRuleSpec.parse(" local "), .local)
    }

    func testStatusValuesAreTrimmedAndKeepTheirOrder() throws {
        XCTAssertEqual(
            try ColumnRuleSpec.parse("status(placed, paid,ready ,  cancelled, collected)"),
            .status(["placed", "paid", "ready", "cancelled", "collected"]))
        XCTAssertEqual(try ColumnRuleSpec.parse("status (Open Order, Done)"), .status(["Open Order", "Done"]))
        XCTAssertEqual(try ColumnRuleSpec.parse("status(only)"), .status(["only"]))
        XCTAssertEqual(ColumnRuleSpec.status(["a", "b"]).description, "status(a, b)")
    }

    func testStatusValuesAreCaseSensitive() throws {
        XCTAssertEqual(try ColumnRuleSpec.parse("status(paid, Paid)"), .status(["paid", "Paid"]))
    }

    func testARepeatedStatusValueIsAnError() {
        XCTAssertEqual(
            message("status(placed, paid, placed)"),
            "status value 'placed' is listed twice; each value has one place in the order")
        XCTAssertEqual(
            message("status(a, b , b)"), "status value 'b' is listed twice; each value has one place in the order")
    }

    func testMalformedRules() {
        XCTAssertEqual(
            message("sum"),
            "unknown rule 'sum'; use one of counter, lww, greatest, least, status(V1, V2, …), local")
        XCTAssertEqual(
            message(""), "an empty rule; use one of counter, lww, greatest, least, status(V1, V2, …), local")
        XCTAssertEqual(message("Counter")?.hasPrefix("unknown rule 'Counter'"), true)
        XCTAssertEqual(message("status()"), "status value 1 is empty")
        XCTAssertEqual(message("status(a,,b)"), "status value 2 is empty")
        XCTAssertEqual(message("status(a, b,)"), "status value 3 is empty")
        XCTAssertEqual(message("status a, b"), "write a status rule as status(V1, V2, …), its values in forward order")
        XCTAssertEqual(message("status(a, b"), "write a status rule as status(V1, V2, …), its values in forward order")
        XCTAssertEqual(message("status(a, (b))"), "a status value cannot contain '(' or ')'")
    }

    func testOnlyLocalIsNotReplicated() {
        XCTAssertFalse(ColumnRuleSpec.local.isReplicated)
        XCTAssertTrue(ColumnRuleSpec.counter.isReplicated)
        XCTAssertTrue(ColumnRuleSpec.status(["a"]).isReplicated)
    }
}
