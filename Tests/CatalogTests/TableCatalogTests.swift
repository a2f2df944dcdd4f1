import Catalog
import XCTest

/// What the catalog checks across tables, and its canonical text and hash.
final class TableCatalogTests: XCTestCase {
    private let shop = """
        [table retail.stock]
        route = location location
        check.low = on_hand > 1

        [table pos.inventory]
        key = item_id, store_id
        column.qty = counter
        column.price = lww
        check.negative_stock = qty >= 0
        check.free = price > 0
        route = location store_id

        [table pos.receipts]
        key = receipt_no
        rows = insert_only
        column.id = local
        route = with pos.inventory (item_id, store_id)

        [table pos.receipt_notes]
        rows = insert_only
        route = with retail.orders (order_id)
        """

    func testBuiltInsAndDeclaredTablesTogetherSortedByName() throws {
        let catalog = try catalog(shop)
        XCTAssertEqual(
            catalog.tables.map(\.name.description),
            [
                "pos.inventory", "pos.receipt_notes", "pos.receipts", "retail.cart_items", "retail.customers",
                "retail.loyalty", "retail.order_lines", "retail.order_status", "retail.orders", "retail.returns",
                "retail.stock",
            ])
        XCTAssertEqual(catalog.table(named: table("pos.receipts"))?.id, TableID.derived(from: table("pos.receipts")))
    }

    func testABuiltInSectionIsMergedIntoTheBuiltInTable() throws {
        let stock = try XCTUnwrap(try catalog(shop).table(named: BuiltInTables.stock.name))
        XCTAssertEqual(stock.id, TableID(1))
        XCTAssertEqual(stock.route, .location(ident("location")))
        XCTAssertEqual(stock.checks.map(\.kind), ["low", "oversell"])
        XCTAssertEqual(stock.columns, BuiltInTables.stock.columns)
        XCTAssertEqual(stock.rows, BuiltInTables.stock.rows)
        XCTAssertTrue(stock.isBuiltIn)
    }

    func testABuiltInSectionWithOnlyChecksKeepsTheRoute() throws {
        let loyalty = try XCTUnwrap(try catalog("[table retail.loyalty]\ncheck.big = points < 1000000").table(
            named: BuiltInTables.loyalty.name))
        XCTAssertEqual(loyalty.route, .all)
        XCTAssertEqual(loyalty.checks.map(\.kind), ["big", "over_redeem"])
    }

    func testTheContractsChainExampleIsValid() throws {
        let catalog = try catalog(
            """
            [table retail.stock]
            route = location location
            [table retail.cart_items]
            route = follow cart cart_id
            [table retail.customers]
            route = follow customer customer_id
            [table retail.loyalty]
            route = follow customer customer_id
            [table retail.orders]
            route = follow customer customer_id
            [table retail.order_lines]
            route = with retail.orders (order_id)
            [table retail.returns]
            route = with retail.orders (order_id)
            [table retail.order_status]
            route = with retail.orders (order_id)
            """)
        XCTAssertEqual(catalog.tables.filter { $0.route == .all }.map(\.name), [])
    }

    func testATableDeclaredTwiceNamesTheSecondHeader() {
        assertDeclarationError(
            try catalog("[table pos.a]\nkey = id\n\n[table \"pos\".A]\nkey = id"), line: 4, key: nil,
            "the table pos.a is declared twice (first on line 1)")
        assertDeclarationError(
            try catalog("[table retail.stock]\nroute = all\n[table retail.stock]\ncheck.x = true"), line: 3, key: nil,
            "the table retail.stock is declared twice (first on line 1)")
    }

    func testADifferentlyQuotedNameIsAnotherTable() throws {
        let catalog = try catalog("[table pos.a]\n[table pos.\"A\"]")
        XCTAssertEqual(catalog.tables.count, 10)
        XCTAssertNotEqual(catalog.table(named: table("pos.a"))?.id, catalog.table(named: table("pos.\"A\""))?.id)
    }

    func testAWithRouteToATableThatIsNotReplicated() {
        assertDeclarationError(
            try catalog("[table pos.lines]\nrows = insert_only\nroute = with pos.orders (order_id)"), line: 3,
            key: "route", "pos.orders is not a replicated table")
    }

    func testAWithRouteWithTheWrongNumberOfColumns() {
        assertDeclarationError(
            try catalog("[table pos.notes]\nrows = insert_only\nroute = with retail.order_lines (order_id)"), line: 3,
            key: "route", "retail.order_lines has a key of 2 column(s) (order_id, line_no), so 'with' names 2, not 1")
        assertDeclarationError(
            try catalog("[table retail.order_status]\nroute = with retail.order_lines (order_id)"), line: 2,
            key: "route", "so 'with' names 2, not 1")
    }

    func testAWithRouteToATableWhosePrimaryKeyIsNotKnownYetIsAccepted() throws {
        let catalog = try catalog(
            "[table pos.orders]\n[table pos.lines]\nrows = insert_only\nroute = with pos.orders (order_id, store)")
        XCTAssertEqual(catalog.table(named: table("pos.lines"))?.route.columns.count, 2)
    }

    func testAWithRouteToItself() {
        assertDeclarationError(
            try catalog("[table pos.a]\nrows = insert_only\nroute = with pos.a (id)"), line: 3, key: "route",
            "a table cannot route with itself")
    }

    func testWithRoutesInACircle() {
        assertDeclarationError(
            try catalog(
                """
                [table pos.a]
                key = id
                route = with pos.b (id)
                [table pos.b]
                key = id
                route = with pos.a (id)
                """), line: 3, key: "route", "the with routes go around in a circle: pos.a -> pos.b -> pos.a")
    }

    func testABuiltInRouteMustUseItsKey() {
        assertDeclarationError(
            try catalog("[table retail.customers]\nroute = location home_location"), line: 2, key: "route",
            "the route column home_location is not a key column")
        XCTAssertNoThrow(try catalog("[table retail.returns]\nroute = location location"), "returns are insert-only")
    }

    // MARK: ids

    func testDerivedIdsAreStableAndAboveTheBuiltIns() throws {
        let id = TableID.derived(from: table("pos.inventory"))
        XCTAssertEqual(id, TableID.derived(from: table("POS.Inventory")))
        XCTAssertGreaterThanOrEqual(id.rawValue, TableID.firstDerived)
        XCTAssertEqual(id, TableID(1_073_741_824 | 0x3FFF_FFFF & Int32(bitPattern: Self.firstWord("\"pos\".\"inventory\""))))
        let alone = try catalog("[table pos.inventory]").table(named: table("pos.inventory"))?.id
        let withOthers = try catalog("[table pos.aaa]\n[table pos.inventory]\n[table pos.zzz]").table(
            named: table("pos.inventory"))?.id
        XCTAssertEqual(alone, id)
        XCTAssertEqual(withOthers, id, "other declarations never move a table's id")
    }

    private static func firstWord(_ text: String) -> UInt32 {
        SHA256.hash(Array(text.utf8))[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    // MARK: canonical text and hash

    func testTheHashDoesNotDependOnTheOrderOfSectionsOrEntries() throws {
        let reordered = """
            [table pos.receipt_notes]
            route = with retail.orders (order_id)
            rows = insert_only

            [table pos.receipts]
            route = with pos.inventory (item_id, store_id)
            column.id = local
            rows = insert_only
            key = receipt_no

            [table pos.inventory]
            route = location store_id
            check.free = price > 0
            check.negative_stock = qty >= 0
            column.price = lww
            column.qty = counter
            key = item_id, store_id

            [table retail.stock]
            check.low = on_hand > 1
            route = location location
            """
        let original = try catalog(shop)
        let other = try catalog(reordered)
        XCTAssertEqual(original.canonicalText, other.canonicalText)
        XCTAssertEqual(original.hash, other.hash)
        XCTAssertEqual(original.hash.count, 64)
        XCTAssertEqual(original.hash, SHA256.hex(Array(original.canonicalText.utf8)))
    }

    func testTheHashDoesNotDependOnSpellingThatMeansTheSame() throws {
        XCTAssertEqual(
            try catalog("[table POS.Items]\nkey = ID\ncolumn.Qty = counter\nroute = location ID").hash,
            try catalog("[table \"pos\".items]\nkey = \"id\"\ncolumn.\"qty\" = counter\nroute = location \"id\"").hash)
    }

    func testTheHashChangesWithEveryRuleCheckRouteAndPolicy() throws {
        let base = "[table pos.a]\nkey = id, store\ncolumn.qty = counter\ncolumn.state = status(a, b)\ncheck.k = qty >= 0\n"
        let variants = [
            base,
            base + "route = location store",
            base + "route = location id",
            base + "route = follow customer store",
            base + "route = follow customer id",
            base + "route = follow cart store",
            base + "route = with retail.order_lines (id, store)",
            base + "route = with retail.order_lines (store, id)",
            base + "delete = refuse",
            base.replacingOccurrences(of: "column.qty = counter", with: "column.qty = lww"),
            base.replacingOccurrences(of: "column.qty = counter", with: "column.qty = greatest"),
            base.replacingOccurrences(of: "column.qty = counter", with: "column.qty = least"),
            base.replacingOccurrences(of: "column.qty = counter", with: "column.qty = local"),
            base.replacingOccurrences(of: "column.qty = counter\n", with: ""),
            base.replacingOccurrences(of: "status(a, b)", with: "status(b, a)"),
            base.replacingOccurrences(of: "status(a, b)", with: "status(a, b, c)"),
            base.replacingOccurrences(of: "check.k = qty >= 0", with: "check.k = qty > 0"),
            base.replacingOccurrences(of: "check.k = qty >= 0", with: "check.j = qty >= 0"),
            base.replacingOccurrences(of: "check.k = qty >= 0\n", with: ""),
            base.replacingOccurrences(of: "key = id, store", with: "key = store, id"),
            base.replacingOccurrences(of: "key = id, store\n", with: ""),
            base.replacingOccurrences(of: "[table pos.a]", with: "[table pos.b]"),
            base + "[table pos.c]",
            base + "[table retail.stock]\nroute = location location",
            base + "[table retail.loyalty]\ncheck.big = points < 100",
        ]
        var seen: [String: Int] = [:]
        for (index, variant) in variants.enumerated() {
            let hash = try catalog(variant).hash
            if let first = seen[hash] { XCTFail("variants \(first) and \(index) have the same hash") }
            seen[hash] = index
        }
        XCTAssertEqual(seen.count, variants.count)
        XCTAssertNotEqual(try catalog(base).hash, TableCatalog.builtIn.hash)
    }

    func testTheHashIgnoresLineNumbers() throws {
        XCTAssertEqual(try catalog("[table pos.a]\nkey = id").hash, try catalog("\n\n\n[table pos.a]\n\nkey = id").hash)
    }

    func testCanonicalTextOfADeclaredTable() throws {
        let text = try catalog(
            #"""
            [table pos."Odd ""Name"""]
            key = id
            column.state = status(new, it's done)
            check.k = note <> 'x'
            route = with retail.orders (id)
            """#
        ).canonicalText
        let id = TableID.derived(from: try QualifiedName.parse(#"pos."Odd ""Name""""#))
        let expected = #"""
            table "pos"."Odd ""Name""" id \#(id)
              key "id" ?
              rows mutable delete add_wins
              column "state" ? status('new','it''s done')
              check k 'note <> ''x'''
              route with "retail"."orders" ("id")
            table "retail"."cart_items" id 2 built-in

            """#
        XCTAssertTrue(text.contains(expected), text)
    }
}
