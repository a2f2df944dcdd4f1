import Catalog
import XCTest

final class RouteTests: XCTestCase {
    private func column(_ name: String) throws -> SQLIdentifier { try SQLIdentifier.parse(name) }

    private func message(_ text: String) -> String? {
        do {
            _ = try Route.parse(text)
            return nil
        } catch { return error.message }
    }

    func testAll() throws {
        XCTAssertEqual(try Route.parse("all"), .all)
        XCTAssertEqual(Route.all.columns, [])
    }

    func testLocationByAColumn() throws {
        XCTAssertEqual(try Route.parse("location store_id"), .location(try column("store_id")))
        XCTAssertEqual(try Route.parse("location \"StoreId\"").columns.map(\.name), ["StoreId"])
        XCTAssertEqual(try Route.parse("location StoreId").columns.map(\.name), ["storeid"])
    }

    func testFollowANamespace() throws {
        XCTAssertEqual(
            try Route.parse("follow customer customer_id"),
            .follow(namespace: "customer", column: try column("customer_id")))
        XCTAssertEqual(try Route.parse("  follow  cart_2   cart_id ").description, "follow cart_2 cart_id")
    }

    func testWithAParentTable() throws {
        let route = try Route.parse("with retail.orders (order_id)")
        XCTAssertEqual(
            route, .with(table: try QualifiedName.parse("retail.orders"), columns: [try column("order_id")]))
        XCTAssertEqual(
            try Route.parse("with pos.\"Order\"(\"OrderId\", line_no)").columns.map(\.name), ["OrderId", "line_no"])
        XCTAssertEqual(route.description, "with retail.orders (order_id)")
    }

    func testDescriptionReadsBack() throws {
        for text in ["all", "location store_id", "follow customer \"CustId\"", "with pos.\"Order\" (a, \"B\")"] {
            let route = try Route.parse(text)
            XCTAssertEqual(try Route.parse(route.description), route, text)
        }
    }

    func testTheColumnsThatDecideARowsPlace() throws {
        XCTAssertEqual(Route.all.columns, [])
        XCTAssertEqual(try Route.parse("location store_id").columns.map(\.name), ["store_id"])
        XCTAssertEqual(try Route.parse("follow customer customer_id").columns.map(\.name), ["customer_id"])
        XCTAssertEqual(try Route.parse("with retail.orders (order_id, line)").columns.map(\.name), ["order_id", "line"])
    }

    func testMalformedRoutes() {
        let forms = "all, location COLUMN, follow NAMESPACE COLUMN or with SCHEMA.TABLE (COLUMN, …)"
        XCTAssertEqual(message("everywhere"), "unknown route 'everywhere'; use \(forms)")
        XCTAssertEqual(message(""), "the route is empty; use \(forms)")
        XCTAssertEqual(message("All"), "unknown route 'All'; use \(forms)")
        XCTAssertEqual(message("all sites"), "unexpected text 'sites' after the route all")
        XCTAssertEqual(message("location"), "write 'location COLUMN'")
        XCTAssertEqual(message("location a b"), "unexpected text 'b' after the route location a")
        XCTAssertEqual(message("follow customer"), "write 'follow customer COLUMN': the column is missing")
        XCTAssertEqual(message("follow"), "write 'follow NAMESPACE COLUMN'")
        XCTAssertEqual(message("follow Customer id"), "the namespace 'Customer' must be 1-63 characters of a-z 0-9 _")
        XCTAssertEqual(
            message("follow \(String(repeating: "n", count: 64)) id")?.hasSuffix("must be 1-63 characters of a-z 0-9 _"),
            true)
        XCTAssertEqual(message("with"), "write 'with SCHEMA.TABLE (COLUMN, …)'")
        XCTAssertEqual(
            message("with orders (order_id)"),
            "write the table as SCHEMA.NAME (for example pos.inventory), not orders alone")
        XCTAssertEqual(
            message("with retail.orders"),
            "write 'with retail.orders (COLUMN, …)': the columns in parentheses are missing")
        XCTAssertEqual(message("with retail.orders (order_id"), "the column list of 'with retail.orders' has no ')'")
        XCTAssertEqual(message("with retail.orders ()"), "the list of names is empty")
        XCTAssertEqual(message("with retail.orders (a, a)"), "a is named twice")
        XCTAssertEqual(
            message("with retail.orders (a) x"), "unexpected text 'x' after the route with retail.orders (a)")
    }
}
