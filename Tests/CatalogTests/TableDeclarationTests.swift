import Catalog
import XCTest

/// `[table SCHEMA.NAME]` sections (CONTRACT §6.2): what they describe, and every mistake with
/// the line and the key it is about.
final class TableDeclarationTests: XCTestCase {
    // MARK: worked examples

    func testTheContractsInventoryExample() throws {
        let spec = try declaredTable(
            """
            [table pos.inventory]
            key = item_id, store_id
            column.qty = counter
            column.price = lww
            column.last_sold_at = greatest
            column.till_note = local
            check.negative_stock = qty >= 0
            route = location store_id
            """)
        XCTAssertEqual(spec.name.sql, "\"pos\".\"inventory\"")
        XCTAssertEqual(spec.key?.map(\.name.name), ["item_id", "store_id"])
        XCTAssertEqual(spec.key?.map(\.type), [nil, nil])
        XCTAssertEqual(spec.rows, .mutable(delete: .addWins))
        XCTAssertEqual(spec.columns.map(\.name.name), ["last_sold_at", "price", "qty", "till_note"])
        XCTAssertEqual(spec.columns.map(\.rule), [.greatest, .lww, .counter, .local])
        XCTAssertEqual(spec.checks, [TableSpec.Check(kind: "negative_stock", expression: "qty >= 0")])
        XCTAssertEqual(spec.route, .location(ident("store_id")))
        XCTAssertFalse(spec.isBuiltIn)
        XCTAssertEqual(spec.line, 1)
        XCTAssertEqual(spec.id, TableID.derived(from: spec.name))
    }

    func testDefaults() throws {
        let spec = try declaredTable("[table pos.prices]")
        XCTAssertNil(spec.key, "the primary key, resolved from the database later")
        XCTAssertEqual(spec.rows, .mutable(delete: .addWins))
        XCTAssertEqual(spec.delete, .addWins)
        XCTAssertEqual(spec.route, .all)
        XCTAssertEqual(spec.columns, [])
        XCTAssertEqual(spec.checks, [])
    }

    func testEveryRuleInOneTable() throws {
        let spec = try declaredTable(
            """
            [table pos.items]
            key = id
            column.stock = counter
            column.price = lww
            column.high = greatest
            column.low = least
            column.state = status(new, open, closed)
            column.note = local
            """)
        XCTAssertEqual(spec.merge(of: ident("id")), .key)
        XCTAssertEqual(spec.merge(of: ident("stock")), .declared(.counter))
        XCTAssertEqual(spec.merge(of: ident("price")), .declared(.lww))
        XCTAssertEqual(spec.merge(of: ident("high")), .declared(.greatest))
        XCTAssertEqual(spec.merge(of: ident("low")), .declared(.least))
        XCTAssertEqual(spec.merge(of: ident("state")), .declared(.status(["new", "open", "closed"])))
        XCTAssertEqual(spec.merge(of: ident("note")), .declared(.local))
        XCTAssertEqual(spec.merge(of: ident("colour")), .defaultLWW, "undeclared columns are lww, by default")
        XCTAssertNil(spec.declaredRule(for: ident("colour")))
        XCTAssertEqual(spec.declaredRule(for: ident("price")), .lww, "a declared lww stays declared")
    }

    func testInsertOnlyTablesTakeLocalColumnsAndAreImmutableOtherwise() throws {
        let spec = try declaredTable(
            """
            [table pos.receipts]
            key = receipt_no
            rows = insert_only
            column.serial_id = local
            """)
        XCTAssertEqual(spec.rows, .insertOnly)
        XCTAssertNil(spec.delete)
        XCTAssertEqual(spec.merge(of: ident("serial_id")), .declared(.local))
        XCTAssertEqual(spec.merge(of: ident("total")), .immutable)
    }

    func testDeleteRefuse() throws {
        XCTAssertEqual(try declaredTable("[table pos.a]\ndelete = refuse").rows, .mutable(delete: .refuse))
        XCTAssertEqual(try declaredTable("[table pos.a]\nrows = mutable\ndelete = add_wins").delete, .addWins)
    }

    func testCamelCaseAndQuotedNames() throws {
        let spec = try declaredTable(
            """
            [table "Shop"."StockItem"]
            key = "ItemId", "StoreId"
            column."OnHand" = counter
            column.Price = lww
            route = location "StoreId"
            """)
        XCTAssertEqual(spec.name.sql, "\"Shop\".\"StockItem\"")
        XCTAssertEqual(spec.key?.map(\.name.quoted), ["\"ItemId\"", "\"StoreId\""])
        XCTAssertEqual(spec.declaredRule(for: try SQLIdentifier(exactly: "OnHand")), .counter)
        XCTAssertEqual(spec.declaredRule(for: ident("price")), .lww, "a plain name folds to lower case")
        XCTAssertEqual(spec.route.columns.map(\.name), ["StoreId"])
    }

    func testRouteKindsInDeclarations() throws {
        XCTAssertEqual(try declaredTable("[table pos.a]\nkey = id\nroute = all").route, .all)
        XCTAssertEqual(
            try declaredTable("[table pos.a]\nkey = store, sku\nroute = location store").route,
            .location(ident("store")))
        XCTAssertEqual(
            try declaredTable("[table pos.cards]\nkey = card_id\nroute = follow customer card_id").route,
            .follow(namespace: "customer", column: ident("card_id")))
        XCTAssertEqual(
            try declaredTable("[table pos.notes]\nrows = insert_only\nroute = with retail.orders (order_id)").route,
            .with(table: table("retail.orders"), columns: [ident("order_id")]))
    }

    func testAnInsertOnlyTableRoutesByAnyColumnItHas() throws {
        let spec = try declaredTable("[table pos.sales]\nkey = sale_id\nrows = insert_only\nroute = location store_id")
        XCTAssertEqual(spec.route, .location(ident("store_id")))
    }

    func testCheckExpressionsAreKeptVerbatim() throws {
        let spec = try declaredTable(
            """
            [table pos.a]
            check.z_last = price > 0 AND note <> 'a;b -- c'
            check.a_first = ("Qty" - reserved) >= 0
            """)
        XCTAssertEqual(spec.checks.map(\.kind), ["a_first", "z_last"], "sorted by kind")
        XCTAssertEqual(spec.checks.map(\.expression), ["(\"Qty\" - reserved) >= 0", "price > 0 AND note <> 'a;b -- c'"])
    }

    // MARK: mistakes (CONTRACT §6.2), each with its line and key

    func testUnknownKey() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = id\nreplicate = yes"), line: 3, key: "replicate",
            "unknown key in [table pos.a]; a table takes key, rows, delete, column.NAME, check.KIND and route")
    }

    func testUnknownRule() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\n\ncolumn.qty = sum"), line: 3, key: "column.qty", "unknown rule 'sum'")
    }

    func testBadRoute() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nroute = nearest"), line: 2, key: "route", "unknown route 'nearest'")
        assertDeclarationError(
            try declaredTable("[table pos.a]\nroute = follow Customer id"), line: 2, key: "route", "namespace")
    }

    func testARuleOnAKeyColumn() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = sku, store\ncolumn.Store = lww"), line: 3, key: "column.Store",
            "store is a key column; key columns identify the row and take no rule")
    }

    func testARuleOnAKeyColumnIsFoundOnceThePrimaryKeyIsKnown() throws {
        let spec = try declaredTable("[table pos.a]\ncolumn.qty = counter\ncolumn.sku = lww")
        assertDeclarationError(
            try spec.resolvingKey([.init(ident("sku"), .text)]), line: 3, key: "column.sku", "sku is a key column")
        let resolved = try spec.resolvingKey([.init(ident("id"), .integer)])
        XCTAssertEqual(resolved.key, [.init(ident("id"), .integer)])
        XCTAssertEqual(resolved.merge(of: ident("id")), .key)
    }

    func testAStatusListWithARepeatedValue() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = id\ncolumn.state = status(new, open, new)"), line: 3,
            key: "column.state", "status value 'new' is listed twice")
    }

    func testARuleOtherThanLocalInAnInsertOnlyTable() {
        for rule in ["counter", "lww", "greatest", "least", "status(a, b)"] {
            assertDeclarationError(
                try declaredTable("[table pos.a]\nkey = id\ncolumn.x = \(rule)\nrows = insert_only"), line: 3,
                key: "column.x", "the only rule it takes is local, not \(rule)")
        }
    }

    func testDeleteInAnInsertOnlyTable() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\ndelete = refuse\nrows = insert_only"), line: 2, key: "delete",
            "an insert_only table's rows are never deleted")
    }

    func testBadRowsAndDeleteValues() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nrows = append"), line: 2, key: "rows",
            "'append' is not a rows policy; use mutable or insert_only")
        assertDeclarationError(
            try declaredTable("[table pos.a]\ndelete = cascade"), line: 2, key: "delete",
            "'cascade' is not a delete policy; use add_wins or refuse")
    }

    func testARouteColumnThatIsNotAKeyColumnOfAMutableTable() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = sku\nroute = location store"), line: 3, key: "route",
            "the route column store is not a key column")
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = sku\nroute = with retail.orders (order_id)"), line: 3,
            key: "route", "the route column order_id is not a key column")
    }

    func testARouteColumnIsCheckedAgainstThePrimaryKeyOnceKnown() throws {
        let spec = try declaredTable("[table pos.a]\nroute = location store")
        assertDeclarationError(
            try spec.resolvingKey([.init(ident("id"))]), line: 2, key: "route", "store is not a key column")
        XCTAssertEqual(try spec.resolvingKey([.init(ident("store")), .init(ident("sku"))]).route, spec.route)
    }

    func testALocalRouteColumn() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nrows = insert_only\ncolumn.store = local\nroute = location store"),
            line: 4, key: "route", "the route column store is local")
    }

    func testKeyMistakes() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = "), line: 2, key: "key", "leave 'key' out to use the table's primary key")
        assertDeclarationError(try declaredTable("[table pos.a]\nkey = a, b, A"), line: 2, key: "key", "a is named twice")
        assertDeclarationError(try declaredTable("[table pos.a]\nkey = a b"), line: 2, key: "key", "expected ','")
        let tooMany = (1...33).map { "c\($0)" }.joined(separator: ", ")
        assertDeclarationError(
            try declaredTable("[table pos.a]\nkey = \(tooMany)"), line: 2, key: "key", "at most 32 columns")
    }

    func testAColumnDeclaredTwiceUnderTwoSpellings() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\ncolumn.Qty = counter\ncolumn.qty = lww"), line: 3, key: "column.qty",
            "the column qty already has a rule (line 2, key 'column.Qty')")
    }

    func testABadColumnName() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\ncolumn. = lww"), line: 2, key: "column.", "column name: a name is missing")
        assertDeclarationError(
            try declaredTable("[table pos.a]\ncolumn.1st = lww"), line: 2, key: "column.1st", "column name:")
    }

    func testCheckMistakes() {
        assertDeclarationError(
            try declaredTable("[table pos.a]\ncheck.Negative = qty >= 0"), line: 2, key: "check.Negative",
            "the check kind 'Negative' must be 1-63 characters of a-z 0-9 _")
        assertDeclarationError(try declaredTable("[table pos.a]\ncheck. = true"), line: 2, key: "check.", "check kind ''")
        assertDeclarationError(try declaredTable("[table pos.a]\ncheck.k = "), line: 2, key: "check.k", "is empty")
        for (expression, fragment) in [
            ("qty >= 0; DROP TABLE pos.a", "';' is not allowed"),
            ("qty >= 0) OR (true", "closes a parenthesis it did not open"),
            ("(qty >= 0", "leaves 1 parenthesis(es) open"),
            ("qty >= 0 -- comment", "comments are not allowed"),
            ("qty >= 0 /* x */", "comments are not allowed"),
            ("note = $$x$$", "'$'"),
            ("note = 'open", "no closing quote"),
            ("\"Qty >= 0", "no closing quote"),
            ("note = '\\' ; x'", "';' is not allowed"),
        ] {
            assertDeclarationError(
                try declaredTable("[table pos.a]\ncheck.k = \(expression)"), line: 2, key: "check.k", fragment)
        }
        XCTAssertNoThrow(try declaredTable("[table pos.a]\ncheck.k = note <> E'it\\'s; fine' AND n = 'a''b;'"))
    }

    func testBadTableNames() {
        assertDeclarationError(try declaredTable("[table inventory]"), line: 1, key: nil, "table name 'inventory': write the table as SCHEMA.NAME")
        assertDeclarationError(try declaredTable("\n[table pos.\"open]"), line: 2, key: nil, "no closing")
        assertDeclarationError(try declaredTable("[table omnisync.outbox]"), line: 1, key: nil, "omnisync's bookkeeping")
        assertDeclarationError(try declaredTable("[table pg_catalog.pg_class]"), line: 1, key: nil, "system schema")
        assertDeclarationError(
            try declaredTable("[table information_schema.tables]"), line: 1, key: nil, "system schema")
        assertDeclarationError(
            try declaredTable("[table retail.prices]"), line: 1, key: nil,
            "retail is omnisync's own schema and has no table prices; its tables are stock, cart_items, orders,"
                + " order_lines, returns, customers, loyalty, order_status")
    }

    // MARK: [table retail.X]

    func testABuiltInSectionMaySetTheRouteAndAddChecks() throws {
        let all = try declarations(
            """
            [table retail.stock]
            route = location location
            check.low_stock = on_hand >= 2
            """)
        guard case .builtIn(let override) = all.first else { return XCTFail("not a built-in section") }
        XCTAssertEqual(override.name, BuiltInTables.stock.name)
        XCTAssertEqual(override.route, .location(ident("location")))
        XCTAssertEqual(override.checks, [.init(kind: "low_stock", expression: "on_hand >= 2")])
        XCTAssertEqual(override.line, 1)
    }

    func testABuiltInSectionRefusesEveryOtherKeyByName() {
        for (key, value) in [
            ("key", "sku"), ("rows", "insert_only"), ("delete", "add_wins"), ("column.on_hand", "lww"),
            ("column.colour", "lww"), ("colour", "red"),
        ] {
            assertDeclarationError(
                try declarations("[table retail.stock]\nroute = all\n\(key) = \(value)"), line: 3, key: key,
                "the rules of the built-in table retail.stock are fixed; its section may only set 'route' and add 'check.KIND'")
        }
    }

    func testABuiltInSectionCannotRedefineABuiltInCheck() {
        assertDeclarationError(
            try declarations("[table retail.loyalty]\ncheck.over_redeem = points > -100"), line: 2,
            key: "check.over_redeem", "retail.loyalty already has the built-in check over_redeem")
    }

    func testABuiltInNameIsFoundWhateverItsSpelling() throws {
        guard case .builtIn(let override) = try declarations("[table \"retail\".Order_Status]\nroute = all").first else {
            return XCTFail("not read as the built-in table")
        }
        XCTAssertEqual(override.name, BuiltInTables.orderStatus.name)
    }

    func testAKeyGivenTwiceByACallerIsRefused() {
        assertDeclarationError(
            try TableDeclaration.parse(
                name: "pos.a", line: 7, entries: [("route", "all", 8), ("key", "id", 9), ("route", "all", 10)]),
            line: 10, key: "route", "set twice (first on line 8)")
        assertDeclarationError(
            try TableDeclaration.parse(
                name: "retail.stock", line: 1, entries: [("check.a", "true", 2), ("check.a", "false", 3)]),
            line: 3, key: "check.a", "set twice (first on line 2)")
    }

    func testErrorDescription() {
        XCTAssertEqual(
            DeclarationError(line: 4, key: "route", message: "bad").description, "line 4: key 'route': bad")
        XCTAssertEqual(DeclarationError(line: 4, key: nil, message: "bad").description, "line 4: bad")
    }
}
