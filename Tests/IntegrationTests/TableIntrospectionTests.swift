import Catalog
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// What `omnisync check` will read from a site, read from a real PostgreSQL: tables shaped like
/// those of real commerce systems (a serial surrogate key beside the natural one, camelCase names,
/// numeric counters, a three-column key, foreign keys, a unique index beside the key, a partial
/// index, a generated column), and the problems the resolver finds in them.
final class TableIntrospectionTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"])
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo("web"), applicationName: "introspection")
        defer { connection.close() }
        try connection.execute(
            script: """
            CREATE SCHEMA pos;
            CREATE TABLE pos.items (item_id int PRIMARY KEY);
            CREATE TABLE pos."StockQuant" (
                id serial PRIMARY KEY,
                item_id int NOT NULL REFERENCES pos.items,
                "locationId" text NOT NULL,
                lot text NOT NULL DEFAULT '',
                quantity numeric(14,3) NOT NULL DEFAULT 0,
                "inDate" timestamptz,
                code text,
                weight_total numeric GENERATED ALWAYS AS (quantity * 2) STORED,
                UNIQUE (item_id, "locationId", lot)
            );
            CREATE UNIQUE INDEX stock_quant_code ON pos."StockQuant" (code);
            CREATE UNIQUE INDEX stock_quant_open ON pos."StockQuant" (lot) WHERE quantity > 0;
            ALTER TABLE pos."StockQuant" DROP COLUMN code;
            ALTER TABLE pos."StockQuant" ADD COLUMN code text UNIQUE;
            """, label: "create point-of-sale tables")
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testFactsOfARealTableAsTheCatalogSeesThem() async throws {
        let name = try QualifiedName.parse("pos.\"StockQuant\"")
        let facts = try await read(name)
        let table = try XCTUnwrap(facts)
        XCTAssertEqual(table.columns.map(\.name), ["id", "item_id", "locationId", "lot", "quantity", "inDate", "weight_total", "code"],
                       "dropped columns are left out")
        XCTAssertEqual(table.column("id")?.isSequence, true)
        XCTAssertEqual(table.column("quantity")?.type, "numeric(14,3)")
        XCTAssertEqual(table.column("inDate")?.type, "timestamp with time zone")
        XCTAssertEqual(table.column("weight_total")?.isGenerated, true)
        XCTAssertEqual(table.column("lot")?.hasDefault, true)
        XCTAssertEqual(table.primaryKey, ["id"])
        XCTAssertTrue(table.indexes.contains { $0.isUnique && $0.columns == ["item_id", "locationId", "lot"] && !$0.isPartialOrExpression })
        XCTAssertTrue(table.indexes.contains { $0.name == "stock_quant_open" && $0.isPartialOrExpression })
        XCTAssertEqual(table.foreignKeys.map(\.columns), [["item_id"]])
        XCTAssertEqual(table.foreignKeys.first?.references, "pos.items")
        let missing = try await read(try QualifiedName.parse("pos.nothing"))
        XCTAssertNil(missing)
    }

    func testTheResolverReportsWhatTheTableNeedsWithTheFix() async throws {
        let name = try QualifiedName.parse("pos.\"StockQuant\"")
        let facts = try await read(name)
        let spec = try TableDeclaration.parse(
            name: "pos.\"StockQuant\"", line: 1,
            entries: [
                (key: "key", value: "item_id, \"locationId\", lot", line: 2), (key: "column.quantity", value: "counter", line: 3),
                (key: "column.\"inDate\"", value: "least", line: 4),
            ])
        guard case .table(let declared) = spec else { return XCTFail("not a declared table") }
        let (table, problems) = TableResolver.resolve(declared, facts: facts)
        XCTAssertNil(table, "the serial id and the generated column are fatal until declared local")
        XCTAssertEqual(
            Set(problems.filter { $0.severity == .fatal }.compactMap(\.column)), ["id", "weight_total"],
            "a counter on numeric(14,3) counts in thousandths: \(problems)")
        XCTAssertEqual(Set(problems.filter { $0.severity == .warning }.compactMap(\.column)), ["item_id", "code", "lot"], "\(problems)")

        let fixed = try TableDeclaration.parse(
            name: "pos.\"StockQuant\"", line: 1,
            entries: [
                (key: "key", value: "item_id, \"locationId\", lot", line: 2), (key: "column.quantity", value: "counter", line: 3),
                (key: "column.id", value: "local", line: 4), (key: "column.weight_total", value: "local", line: 5),
            ])
        guard case .table(let fixedSpec) = fixed else { return XCTFail("not a declared table") }
        let resolved = try XCTUnwrap(TableResolver.resolve(fixedSpec, facts: facts).table)
        XCTAssertEqual(resolved.key.map(\.name.name), ["item_id", "locationId", "lot"])
        let quantity = try XCTUnwrap(resolved.columns.first { $0.name.name == "quantity" })
        XCTAssertEqual(quantity.rule, .counter)
        XCTAssertEqual(quantity.counterScale.decimals, 3, "numeric(14,3) counts in thousandths")
    }

    private func read(_ name: QualifiedName) async throws -> TableFacts? {
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo("web"), applicationName: "introspection")
        defer { connection.close() }
        return try TableIntrospector.facts(of: name, connection: connection)
    }
}
