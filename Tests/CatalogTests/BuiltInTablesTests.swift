import Catalog
import XCTest

/// The retail tables of CONTRACT §4 and §7, as specs.
final class BuiltInTablesTests: XCTestCase {
    private func columns(_ spec: TableSpec) -> [String] {
        spec.columns.map { "\($0.name.name) \($0.type?.name ?? "?") \($0.rule.map(\.description) ?? "-")" }
    }

    private func key(_ spec: TableSpec) -> [String] {
        (spec.key ?? []).map { "\($0.name.name) \($0.type?.name ?? "?")" }
    }

    func testIdsAreV1sOutboxNumbersThenSixToEight() {
        XCTAssertEqual(
            BuiltInTables.all.map { "\($0.id) \($0.name)" },
            [
                "1 retail.stock", "2 retail.cart_items", "3 retail.orders", "4 retail.order_lines", "5 retail.returns",
                "6 retail.customers", "7 retail.loyalty", "8 retail.order_status",
            ])
        XCTAssertTrue(BuiltInTables.all.allSatisfy { $0.isBuiltIn && $0.route == .all && $0.line == nil })
    }

    func testStock() {
        let spec = BuiltInTables.stock
        XCTAssertEqual(key(spec), ["sku text", "location text"])
        XCTAssertEqual(columns(spec), ["on_hand bigint counter", "reserved bigint counter"])
        XCTAssertEqual(spec.rows, .mutable(delete: .refuse))
        XCTAssertEqual(spec.checks, [.init(kind: "oversell", expression: "on_hand - reserved >= 0")])
        XCTAssertEqual(spec.countFunction?.function.sql, "\"retail\".\"record_count\"")
        XCTAssertEqual(spec.countFunction?.column, ident("on_hand"))
    }

    func testCartItems() {
        let spec = BuiltInTables.cartItems
        XCTAssertEqual(key(spec), ["cart_id text", "sku text"])
        XCTAssertEqual(columns(spec), ["quantity bigint counter"])
        XCTAssertEqual(spec.rows, .mutable(delete: .addWins))
        XCTAssertEqual(spec.checks, [])
        XCTAssertNil(spec.countFunction)
    }

    func testOrdersLinesAndReturnsAreInsertOnlyAndImmutable() {
        XCTAssertEqual(key(BuiltInTables.orders), ["order_id text"])
        XCTAssertEqual(
            columns(BuiltInTables.orders),
            ["customer_id text -", "channel text -", "placed_at timestamp with time zone -"])
        XCTAssertEqual(key(BuiltInTables.orderLines), ["order_id text", "line_no integer"])
        XCTAssertEqual(columns(BuiltInTables.orderLines), ["sku text -", "quantity bigint -"])
        XCTAssertEqual(key(BuiltInTables.returns), ["return_id text"])
        XCTAssertEqual(
            columns(BuiltInTables.returns),
            [
                "order_id text -", "line_no integer -", "quantity bigint -", "location text -",
                "returned_at timestamp with time zone -",
            ])
        for spec in [BuiltInTables.orders, BuiltInTables.orderLines, BuiltInTables.returns] {
            XCTAssertEqual(spec.rows, .insertOnly, "\(spec.name)")
            XCTAssertEqual(spec.checks, [], "over_return lives outside the catalog")
            for column in spec.columns { XCTAssertEqual(spec.merge(of: column.name), .immutable) }
        }
    }

    func testCustomersAreAllLastWriterWinsAndNeverDeleted() {
        let spec = BuiltInTables.customers
        XCTAssertEqual(key(spec), ["customer_id text"])
        XCTAssertEqual(
            columns(spec), ["name text lww", "email text lww", "phone text lww", "language text lww", "home_location text lww"])
        XCTAssertEqual(spec.rows, .mutable(delete: .refuse))
    }

    func testLoyaltyPointsAreACounterWithTheOverRedeemCheck() {
        let spec = BuiltInTables.loyalty
        XCTAssertEqual(key(spec), ["customer_id text"])
        XCTAssertEqual(columns(spec), ["points bigint counter"])
        XCTAssertEqual(spec.rows, .mutable(delete: .refuse))
        XCTAssertEqual(spec.checks, [.init(kind: "over_redeem", expression: "points >= 0")])
    }

    func testOrderStatusMovesForwardThroughTheClickAndCollectStatuses() {
        let spec = BuiltInTables.orderStatus
        XCTAssertEqual(key(spec), ["order_id text"])
        XCTAssertEqual(
            columns(spec), ["status text status(placed, paid, ready, cancelled, collected)", "location text lww"])
        XCTAssertEqual(spec.rows, .mutable(delete: .refuse))
    }

    func testTheBuiltInCatalogIsWhatNoDeclarationGives() throws {
        XCTAssertEqual(try TableCatalog(declarations: []), TableCatalog.builtIn)
        XCTAssertEqual(TableCatalog.builtIn.tables.count, 8)
        XCTAssertEqual(TableCatalog.builtIn.table(id: TableID(4))?.name, BuiltInTables.orderLines.name)
        XCTAssertEqual(TableCatalog.builtIn.table(named: table("retail.loyalty")), BuiltInTables.loyalty)
        XCTAssertNil(TableCatalog.builtIn.table(named: table("retail.prices")))
    }

    /// The hash every v2 site will record for a configuration without [table] sections. A change
    /// here changes what sites must agree on: update it only with a migration that records the new one.
    func testTheBuiltInCatalogsHashIsPinned() {
        XCTAssertEqual(TableCatalog.builtIn.hash, "fd1e897765cba31fff11e0192fbf3f9f237b938af94663982407b46506f02efb")
    }

    func testTheBuiltInCanonicalText() {
        let text = TableCatalog.builtIn.canonicalText
        XCTAssertTrue(text.hasPrefix("omnisync-catalog 1\ntable \"retail\".\"cart_items\" id 2 built-in\n"), text)
        for line in [
            "table \"retail\".\"stock\" id 1 built-in",
            "  key \"sku\" 'text', \"location\" 'text'",
            "  rows mutable delete refuse",
            "  column \"on_hand\" 'bigint' counter",
            "  check oversell 'on_hand - reserved >= 0'",
            "  count \"retail\".\"record_count\" \"on_hand\"",
            "  rows insert_only",
            "  column \"placed_at\" 'timestamp with time zone' immutable",
            "  column \"status\" 'text' status('placed','paid','ready','cancelled','collected')",
            "  route all",
        ] {
            XCTAssertTrue(text.contains("\n" + line + "\n"), line)
        }
    }
}
