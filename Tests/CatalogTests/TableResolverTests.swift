import Catalog
import XCTest

/// `TableResolver`: a declaration against what a site holds — every problem `omnisync check`
/// reports, with its fix, and the capture description when nothing is fatal.
final class TableResolverTests: XCTestCase {
    /// A point-of-sale inventory as real systems ship it: a serial surrogate key beside the natural
    /// one, a camelCase column, a numeric price, a foreign key.
    private let inventory = TableFacts(
        columns: [
            .init(name: "id", type: "integer", notNull: true, hasDefault: true, isSequence: true),
            .init(name: "item_id", type: "integer", notNull: true), .init(name: "store_id", type: "text", notNull: true),
            .init(name: "qty", type: "integer"), .init(name: "price", type: "numeric(12,2)"),
            .init(name: "lastSoldAt", type: "timestamp with time zone"), .init(name: "status", type: "text"),
            .init(name: "till_note", type: "text"),
        ],
        indexes: [
            .init(name: "inventory_pkey", columns: ["id"], isPrimary: true, isUnique: true),
            .init(name: "inventory_item_store", columns: ["item_id", "store_id"], isUnique: true),
        ],
        foreignKeys: [.init(name: "inventory_item_fk", columns: ["item_id"], references: "pos.items")])

    func testANaturalKeyBesideASerialIdResolvesWithTheIdLocal() throws {
        let spec = try declaredTable("""
            [table pos.inventory]
            key = item_id, store_id
            column.id = local
            column.qty = counter
            column."lastSoldAt" = greatest
            column.status = status(placed, paid, ready)
            column.till_note = local
            """)
        let (table, problems) = TableResolver.resolve(spec, facts: inventory)
        XCTAssertEqual(problems.filter { $0.severity == .fatal }, [])
        XCTAssertEqual(problems.map(\.column), ["item_id"], "only the foreign key is worth a warning: \(problems)")
        let resolved = try XCTUnwrap(table)
        XCTAssertEqual(resolved.key.map(\.name.name), ["item_id", "store_id"])
        XCTAssertEqual(resolved.key.map(\.type.name), ["integer", "text"])
        // By name (UTF-8 bytes), whatever the table's column order at the site.
        XCTAssertEqual(resolved.columns.map(\.name.name), ["id", "lastSoldAt", "price", "qty", "status", "till_note"])
        XCTAssertEqual(resolved.columns.map(\.rule), [.local, .greatest, .lww, .counter, .status(["placed", "paid", "ready"]), .local])
    }

    func testTheSerialIdReplicatedOrAsTheKeyIsFatalWithTheFix() throws {
        let replicated = try declaredTable("[table pos.inventory]\nkey = item_id, store_id\n")
        let problems = TableResolver.resolve(replicated, facts: inventory).problems.filter { $0.severity == .fatal }
        XCTAssertEqual(problems.map(\.column), ["id"])
        XCTAssertTrue(problems[0].fix.contains("column.id = local"), problems[0].fix)

        let byPrimaryKey = try declaredTable("[table pos.inventory]\ncolumn.id = local\n")
        let keyed = TableResolver.resolve(byPrimaryKey, facts: inventory)
        XCTAssertNil(keyed.table)
        XCTAssertTrue(keyed.problems.contains { $0.column == "id" && $0.message.contains("sequence") && $0.fix.contains("key =") },
                      "\(keyed.problems)")
    }

    func testMissingTableColumnsAndKeyCoverageAreFatal() throws {
        let spec = try declaredTable("""
            [table pos.inventory]
            key = store_id, price
            column.id = local
            column.shelf = lww
            """)
        XCTAssertEqual(TableResolver.resolve(spec, facts: nil).problems.map(\.message), ["the table does not exist at this site"])
        let problems = TableResolver.resolve(spec, facts: inventory).problems.filter { $0.severity == .fatal }
        XCTAssertTrue(problems.contains { $0.column == "shelf" && $0.message == "the declared column does not exist" }, "\(problems)")
        let coverage = try XCTUnwrap(problems.first { $0.message.hasPrefix("no primary key or unique index covers") })
        XCTAssertEqual(coverage.fix, "CREATE UNIQUE INDEX ON \"pos\".\"inventory\" (\"store_id\", \"price\")")
    }

    func testNoPrimaryKeyAndNoDeclaredKeyIsFatal() throws {
        let facts = TableFacts(columns: [.init(name: "sku", type: "text")])
        let problems = TableResolver.resolve(try declaredTable("[table pos.loose]\n"), facts: facts).problems
        XCTAssertTrue(problems.contains { $0.message.contains("no primary key") && $0.fix.contains("key =") }, "\(problems)")
    }

    /// A counter on `numeric(p,s)` counts in units of 10⁻ˢ, exactly, up to 18 digits; a numeric
    /// without precision and scale, or with more digits, is refused with the fix.
    func testACounterOnNumericNeedsPrecisionAndScale() throws {
        func problems(_ type: String) throws -> [CheckProblem] {
            let facts = TableFacts(
                columns: [.init(name: "sku", type: "text", notNull: true), .init(name: "kg", type: type)],
                indexes: [.init(name: "p", columns: ["sku"], isPrimary: true, isUnique: true)])
            return TableResolver.resolve(try declaredTable("[table pos.scale]\ncolumn.kg = counter\n"), facts: facts).problems
        }
        XCTAssertEqual(try problems("numeric(12,3)"), [])
        XCTAssertEqual(try problems("numeric(18,0)"), [])
        XCTAssertEqual(try problems("numeric(9)"), [])
        let unscaled = try problems("numeric")
        XCTAssertEqual(unscaled.map(\.column), ["kg"])
        XCTAssertTrue(unscaled[0].message.contains("without precision and scale"), unscaled[0].message)
        XCTAssertTrue(unscaled[0].fix.contains("numeric(18,3)"), unscaled[0].fix)
        let wide = try problems("numeric(20,2)")
        XCTAssertTrue(wide[0].message.contains("more than 18 digits"), wide[0].message)
    }

    func testRulesOnColumnsOfTheWrongTypeAreFatal() throws {
        let facts = TableFacts(
            columns: [.init(name: "sku", type: "text", notNull: true), .init(name: "qty", type: "text"), .init(name: "state", type: "integer")],
            indexes: [.init(name: "p", columns: ["sku"], isPrimary: true, isUnique: true)])
        let spec = try declaredTable("[table pos.t]\ncolumn.qty = counter\ncolumn.state = status(a, b)\n")
        let problems = TableResolver.resolve(spec, facts: facts).problems
        XCTAssertEqual(problems.map(\.column), ["qty", "state"])
        XCTAssertTrue(problems[0].message.contains("counter on a column of type text"))
        XCTAssertTrue(problems[1].message.contains("status(…) on a column of type integer"))
    }

    func testALocalColumnThatArrivingRowsCannotFillIsFatalAndAUniqueIndexBesideTheKeyIsAWarning() throws {
        let facts = TableFacts(
            columns: [
                .init(name: "customer_id", type: "text", notNull: true), .init(name: "email", type: "text"),
                .init(name: "card", type: "text", notNull: true), .init(name: "total", type: "numeric", isGenerated: true),
            ],
            indexes: [
                .init(name: "c_pkey", columns: ["customer_id"], isPrimary: true, isUnique: true),
                .init(name: "c_email", columns: ["email"], isUnique: true),
            ])
        let problems = TableResolver.resolve(try declaredTable("[table shop.customer]\ncolumn.card = local\n"), facts: facts).problems
        XCTAssertEqual(problems.filter { $0.severity == .fatal }.map(\.column), ["card", "total"], "\(problems)")
        XCTAssertEqual(problems.filter { $0.severity == .warning }.map(\.column), ["email"])
    }

    func testABuiltInTableResolvesAgainstTheRetailSchema() throws {
        let spec = try XCTUnwrap(BuiltInTables.spec(named: try QualifiedName.parse("retail.stock")))
        let facts = TableFacts(
            columns: [
                .init(name: "sku", type: "text", notNull: true), .init(name: "location", type: "text", notNull: true),
                .init(name: "on_hand", type: "bigint", notNull: true, hasDefault: true),
                .init(name: "reserved", type: "bigint", notNull: true, hasDefault: true),
            ],
            indexes: [.init(name: "stock_pkey", columns: ["sku", "location"], isPrimary: true, isUnique: true)])
        let (table, problems) = TableResolver.resolve(spec, facts: facts)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(table?.columns.map(\.rule), [.counter, .counter])
        XCTAssertEqual(table?.id, spec.id)
    }
}
