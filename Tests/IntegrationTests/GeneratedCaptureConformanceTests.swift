import Catalog
import Foundation
import MergeCore
import Postgres
import SyncEngine
import TestSupport
import XCTest

/// The generated capture (CaptureDDL: state table, trigger and clamp, installed in a real site)
/// and MergeCore's `ReplicatedRow` local updates are the two halves of every column rule. Seeded
/// random writes go through both, write by write, and the stored state must decode to exactly the
/// row Swift computed from the state just before — for every rule: counter (with physical counts
/// through `omnisync.record_count`), lww, greatest and least (numbers, text and UTC times),
/// status, local, and add-wins deletes.
///
/// Other sites are simulated in Swift: now and then a remote replica writes, and the merge of
/// both is written into the site as the daemon would write it, so the states also hold other
/// sites' contributions, counts, deletions and statuses. A failure prints the seed
/// (`OMNISYNC_SEED=… OMNISYNC_ITERATIONS=1` replays it).
final class GeneratedCaptureConformanceTests: XCTestCase {
    var fixture: SyncFixture!
    private static let statuses = ["placed", "paid", "ready", "cancelled", "collected"]

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"])
        try await fixture.sql("web", "CREATE SCHEMA pos")
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testEveryRuleOfARowWhoseDeletesAreRefused() async throws {
        try await runConformance(table: try Self.conformanceTable("StockItem", rows: .mutable(delete: .refuse)), defaultSeed: 0x9E4_0001)
    }

    func testEveryRuleOfARowWithAddWinsDeletes() async throws {
        try await runConformance(table: try Self.conformanceTable("cart_line", rows: .mutable(delete: .addWins)), defaultSeed: 0x9E4_0002)
    }

    func testTheGeneratedScriptNamesTheStateTableAndEveryField() async throws {
        let table = try Self.conformanceTable("StockItem", rows: .mutable(delete: .refuse))
        try await install(table)
        let columns = try await fixture.sql(
            "web",
            "SELECT attname FROM pg_attribute WHERE attrelid = 'omnisync.\"state:pos.StockItem\"'::regclass AND attnum > 0 ORDER BY attnum")
        let expected = table.key.map(\.name.name) + (try table.stateFields().map(\.name.name))
        XCTAssertEqual(columns.map { $0[0] ?? "" }, expected)
    }

    /// A status moved back, out of its list or to NULL fails the application's statement and
    /// changes nothing; so does a DELETE that the table refuses, and a key change.
    func testRefusedWritesFailTheStatementAndChangeNothing() async throws {
        let table = try Self.conformanceTable("StockItem", rows: .mutable(delete: .refuse))
        try await install(table)
        try await fixture.sql("web", "INSERT INTO pos.\"StockItem\" (item_id, store_id, lot, status) VALUES (1, 's', 'L', 'ready')")
        let before = try await state(table, key: ["1", "s", "L"])
        for (statement, code) in [
            ("UPDATE pos.\"StockItem\" SET status = 'paid'", "23514"),
            ("UPDATE pos.\"StockItem\" SET status = 'shipped'", "23514"),
            ("UPDATE pos.\"StockItem\" SET status = NULL", "23514"),
            ("DELETE FROM pos.\"StockItem\"", "0A000"),
            ("UPDATE pos.\"StockItem\" SET lot = 'M'", "0A000"),
        ] {
            do {
                try await fixture.sql("web", statement)
                XCTFail("accepted: \(statement)")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, code, "\(statement): \(error)")
            }
        }
        let after = try await state(table, key: ["1", "s", "L"])
        XCTAssertEqual(after, before)
        let status = try await fixture.value("web", "SELECT status FROM pos.\"StockItem\"")
        XCTAssertEqual(status, "ready")
    }

    // MARK: - The harness

    private func runConformance(table: CaptureTable, defaultSeed: UInt64) async throws {
        try await install(table)
        let quoted = table.name.sql
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: defaultSeed, defaultIterations: 2) {
            var rng = SeededGenerator(seed: seed)
            let item = String(Int(seed % 100_000))
            let key = [item, "store-7", "L1"]
            let keyMatch = "item_id = \(item) AND store_id = 'store-7' AND lot = 'L1'"
            var remote = table.emptyRow
            var remoteClock: Int64 = 5_000_000
            for step in 0..<70 {
                let context = "\(table.name) \(rng) step \(step)"
                let before = try await state(table, key: key) ?? table.emptyRow
                if Int.random(in: 0..<100, using: &rng) < 20 {
                    // Another site wrote; its state and this one's merge as the daemon merges them.
                    remoteClock += Int64.random(in: -50...200, using: &rng)
                    let writes = randomWrites(table, isInsert: !remote.isPresent, using: &rng)
                    if table.deletesAddWins, remote.isPresent, Bool.random(using: &rng) {
                        remote.applyLocalDelete(site: "store-a", wallClock: remoteClock)
                    } else {
                        _ = remote.applyLocalWrite(
                            site: "store-a", wallClock: remoteClock, isInsert: !remote.isPresent,
                            writes: writes.map { ($0.column, $0.swift) })
                    }
                    remote = remote.merged(with: before)
                    try await store(table, key: key, row: before.merged(with: remote))
                    continue
                }
                let isInsert = !before.isPresent
                var expected = before
                let sql: String
                var swiftWrites: [(column: Int, write: ReplicatedRow.ColumnWrite)] = []
                var isDelete = false
                var count: (column: Int, counted: Int64)?
                let roll = Int.random(in: 0..<100, using: &rng)
                if !isInsert, roll < 12 {
                    // A physical count of one counter, through the contract's entry point.
                    let counters = table.replicated.enumerated().filter { $0.element.column.rule == .counter }
                    let chosen = counters.randomElement(using: &rng)!
                    let scale = chosen.element.column.counterScale
                    count = (chosen.offset, Int64.random(in: 0...(scale.decimals == 0 ? 30 : 30_000), using: &rng))
                    sql = "SELECT omnisync.record_count('pos.\(table.name.name.quoted)', ARRAY['\(item)', 'store-7', 'L1'], "
                        + "'\(chosen.element.column.name.name)', \(scale.text(units: count!.counted)))"
                } else if !isInsert, table.deletesAddWins, roll < 27 {
                    sql = "DELETE FROM \(quoted) WHERE \(keyMatch)"
                    isDelete = true
                } else {
                    let writes = randomWrites(table, isInsert: isInsert, using: &rng)
                    swiftWrites = writes.map { ($0.column, $0.swift) }
                    if isInsert {
                        let names = ["item_id", "store_id", "lot"] + writes.map { table.replicated[$0.column].column.name.quoted }
                        let values = ["\(item)", "'store-7'", "'L1'"] + writes.map(\.insertValue)
                        sql = "INSERT INTO \(quoted) (\(names.joined(separator: ", "))) VALUES (\(values.joined(separator: ", ")))"
                    } else {
                        let sets = writes.map { "\(table.replicated[$0.column].column.name.quoted) = \($0.updateValue)" }
                        sql = "UPDATE \(quoted) SET \((sets.isEmpty ? ["till_note = 'x'"] : sets).joined(separator: ", ")) WHERE \(keyMatch)"
                    }
                }
                var refusedBySQL = false
                do {
                    try await fixture.sql("web", sql)
                } catch let error as PostgresError where error.sqlState == "23514" {
                    refusedBySQL = true
                }
                let after = try await state(table, key: key)
                let wallClock = after?.highWater ?? 0
                let outcome: LocalUpdate
                if let count {
                    expected.applyLocalCount(site: "web", wallClock: wallClock, column: count.column, counted: count.counted)
                    outcome = .applied
                } else if isDelete {
                    expected.applyLocalDelete(site: "web", wallClock: wallClock)
                    outcome = .applied
                } else {
                    outcome = expected.applyLocalWrite(site: "web", wallClock: wallClock, isInsert: isInsert, writes: swiftWrites)
                }
                if case .refused(let reason) = outcome {
                    guard check(refusedBySQL, "Swift refused (\(reason)) what the trigger accepted, \(context): \(sql)") else { return }
                    expected = before
                } else {
                    guard check(!refusedBySQL, "the trigger refused what Swift accepted, \(context): \(sql)") else { return }
                }
                guard check(
                    (after ?? table.emptyRow) == expected,
                    "trigger and Swift differ after \(sql), \(context):\n sql   \(String(describing: after))\n swift \(expected)")
                else { return }
                guard try await checkVisible(table, keyMatch: keyMatch, expected: expected, context) else { return }
            }
        }
    }

    /// One random column write: what Swift is told, and the SQL that makes it.
    private struct Write {
        let column: Int
        let swift: ReplicatedRow.ColumnWrite
        let insertValue: String
        let updateValue: String
    }

    private func randomWrites(_ table: CaptureTable, isInsert: Bool, using rng: inout SeededGenerator) -> [Write] {
        var writes: [Write] = []
        for (position, entry) in table.replicated.enumerated() where isInsert || Int.random(in: 0..<3, using: &rng) == 0 {
            let name = entry.column.name.quoted
            switch entry.column.rule {
            case .counter:
                // A numeric(p,s) counter is written in its units, thousandths for numeric(12,3).
                let scale = entry.column.counterScale
                let delta = scale.decimals == 0
                    ? Int64.random(in: -4...7, using: &rng) : Int64.random(in: -4_000...7_000, using: &rng)
                let text = scale.text(units: delta)
                writes.append(Write(column: position, swift: .delta(delta), insertValue: text, updateValue: "\(name) + \(text)"))
            case .status:
                let value = Int.random(in: 0..<15, using: &rng) == 0 ? "lost" : Self.statuses.randomElement(using: &rng)!
                writes.append(Write(column: position, swift: .value(value), insertValue: "'\(value)'", updateValue: "'\(value)'"))
            case .lww:
                let value = Bool.random(using: &rng) ? nil : ["a", "b", "9.99", "Ab", "é", ""].randomElement(using: &rng)!
                let sql = value.map { "'\($0)'" } ?? "NULL"
                writes.append(Write(column: position, swift: .value(value), insertValue: sql, updateValue: sql))
            case .greatest where entry.column.type.baseName == "timestamp with time zone":
                let hour = Int.random(in: 8...12, using: &rng)
                let sql = "'2026-12-0\(Int.random(in: 1...3, using: &rng))T\(hour < 10 ? "0" : "")\(hour):00:00+01'::timestamptz"
                writes.append(Write(column: position, swift: .value(nil), insertValue: sql, updateValue: sql))
            case .greatest, .least:
                let pool = entry.column.type.comparesAsNumber ? ["9", "10", "-3", "10.0", "0.25", "7.5"] : ["b", "a", "ab", "Z", "é"]
                let value = Int.random(in: 0..<8, using: &rng) == 0 ? nil : pool.randomElement(using: &rng)!
                let sql = value.map { "'\($0)'" } ?? "NULL"
                writes.append(Write(column: position, swift: .value(value), insertValue: sql, updateValue: sql))
            case .local, .immutable:
                break
            }
        }
        return writes.map { write in
            // Times: Swift is told the UTC text the capture stores.
            guard case .greatest = table.replicated[write.column].column.rule,
                table.replicated[write.column].column.type.baseName == "timestamp with time zone"
            else { return write }
            let utc = Self.utcText(write.insertValue)
            return Write(column: write.column, swift: .value(utc), insertValue: write.insertValue, updateValue: write.updateValue)
        }
    }

    /// `'2026-12-02T10:00:00+01'::timestamptz` as capture stores it: `2026-12-02T09:00:00.000000Z`.
    private static func utcText(_ literal: String) -> String {
        let inner = literal.split(separator: "'")[0]
        let day = inner.prefix(10)
        let hour = Int(inner.dropFirst(11).prefix(2))! - 1
        return "\(day)T\(hour < 10 ? "0" : "")\(hour):00:00.000000Z"
    }

    // MARK: - The site

    static func conformanceTable(_ name: String, rows: TableSpec.Rows) throws -> CaptureTable {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        return CaptureTable(
            id: TableID(name == "StockItem" ? 9001 : 9002), name: QualifiedName(schema: try id("pos"), name: try id(name)),
            key: [.init(try id("item_id"), .integer), .init(try id("store_id"), .text), .init(try id("lot"), .text)],
            columns: [
                .init(try id("qty"), .bigint, .counter), .init(try id("reserved"), SQLType("numeric(12,3)"), .counter),
                .init(try id("price"), .text, .lww), .init(try id("lastSold"), SQLType("numeric"), .greatest),
                .init(try id("first_seen"), .text, .least), .init(try id("status"), .text, .status(statuses)),
                .init(try id("till_note"), .text, .local), .init(try id("sold_at"), .timestamptz, .greatest),
            ],
            rows: rows)
    }

    func installForCounts(_ table: CaptureTable) async throws {
        try await install(table)
    }

    private func install(_ table: CaptureTable) async throws {
        try await createTable(table)
        let script = try CaptureDDL.script(for: table) + CaptureDDL.recordCountDispatcher(for: [table])
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo("web"), applicationName: "conformance")
        defer { connection.close() }
        try connection.execute(script: script, label: "install generated capture")
    }

    private func createTable(_ table: CaptureTable) async throws {
        try await fixture.sql(
            "web",
            """
            CREATE TABLE \(table.name.sql) (item_id int, store_id text, lot text, qty bigint NOT NULL DEFAULT 0,
                reserved numeric(12,3) NOT NULL DEFAULT 0, price text, "lastSold" numeric, first_seen text, status text,
                till_note text DEFAULT 'mine', sold_at timestamptz, PRIMARY KEY (item_id, store_id, lot))
            """)
    }

    /// Rows a table held before its capture was installed are seeded (`CaptureDDL.seedScript`)
    /// exactly as the trigger captures an INSERT of them: same state fields but the stamps, and
    /// one outbox record each. A status outside the list refuses the seed.
    func testRowsHeldBeforeCaptureAreSeededAsTheTriggerCapturesTheirInsert() async throws {
        let seeded = try Self.conformanceTable("StockItem", rows: .mutable(delete: .refuse))
        let captured = try Self.conformanceTable("cart_line", rows: .mutable(delete: .addWins))
        var rng = SeededGenerator(seed: 0x5EED_0001)
        var rows: [String] = []
        for index in 0..<40 {
            func maybe(_ text: String) -> String { Bool.random(using: &rng) ? text : "NULL" }
            let status = Self.statuses.randomElement(using: &rng)!
            rows.append(
                "(\(index), 's\(index % 3)', 'L', \(Int.random(in: -5...50, using: &rng)), \(Int.random(in: 0...9999, using: &rng)) / 1000.0, "
                    + "\(maybe("'p\(index)'")), \(maybe(String(Int.random(in: 1...99, using: &rng)))), \(maybe("'f\(index)'")), "
                    + "\(maybe("'\(status)'")), 'note', \(maybe("'2026-0\(1 + index % 9)-01 10:00+02'")))")
        }
        let values = rows.joined(separator: ", ")
        let columns = "(item_id, store_id, lot, qty, reserved, price, \"lastSold\", first_seen, status, till_note, sold_at)"
        try await createTable(seeded)
        try await fixture.sql("web", "INSERT INTO \(seeded.name.sql) \(columns) VALUES \(values)")
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo("web"), applicationName: "conformance")
        defer { connection.close() }
        try connection.execute(
            script: try CaptureDDL.stateTable(seeded) + "\n" + CaptureDDL.captureScript(for: seeded) + CaptureDDL.seedScript(for: seeded),
            label: "install and seed")
        try await install(captured)
        try await fixture.sql("web", "INSERT INTO \(captured.name.sql) \(columns) VALUES \(values)")

        let fields = try seeded.stateFields().filter { !$0.name.name.hasSuffix("hlc") }.map { "s.\($0.name.quoted)::text" }
        func states(_ table: CaptureTable) async throws -> [[String?]] {
            try await fixture.sql(
                "web", "SELECT \(fields.joined(separator: ", ")) FROM \(try CaptureNames.stateTable(table.name).sql) AS s ORDER BY item_id, store_id, lot")
        }
        let fromSeed = try await states(seeded)
        let fromTrigger = try await states(captured)
        XCTAssertEqual(fromSeed.count, 40)
        XCTAssertEqual(fromSeed, fromTrigger)
        let stamps = try await fixture.value(
            "web", "SELECT count(DISTINCT max_hlc) FROM \(try CaptureNames.stateTable(seeded.name).sql) WHERE max_hlc > 0")
        XCTAssertEqual(stamps, "1", "one stamp for the whole seed")
        let records = try await fixture.value("web", "SELECT count(*) FROM omnisync.outbox WHERE table_id = \(seeded.id.rawValue)")
        XCTAssertEqual(records, "40")
        // Seeding again finds nothing to do.
        try connection.execute(script: try CaptureDDL.seedScript(for: seeded), label: "seed again")
        let again = try await fixture.value("web", "SELECT count(*) FROM omnisync.outbox WHERE table_id = \(seeded.id.rawValue)")
        XCTAssertEqual(again, "40")

        // A status the list does not have refuses the whole seed.
        try await fixture.sql("web", "DROP TRIGGER capture ON \(seeded.name.sql)")
        try await fixture.sql("web", "INSERT INTO \(seeded.name.sql) (item_id, store_id, lot, status) VALUES (999, 's', 'L', 'shipped')")
        XCTAssertThrowsError(try connection.execute(script: try CaptureDDL.seedScript(for: seeded), label: "seed a bad status")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "23514", "\(error)")
            XCTAssertTrue("\(error)".contains("shipped"), "\(error)")
        }
    }

    func storedState(_ table: CaptureTable, key: [String]) async throws -> ReplicatedRow? {
        try await state(table, key: key)
    }

    /// The stored state of the row, decoded as the daemon will decode it.
    private func state(_ table: CaptureTable, key: [String]) async throws -> ReplicatedRow? {
        let fields = try table.stateFields()
        let select = fields.map { field -> String in
            switch field.type {
            case .integers, .texts: return "array_to_string(s.\(field.name.quoted), ',')"
            default: return "s.\(field.name.quoted)::text"
            }
        }
        let stateTable = "omnisync.\(try SQLIdentifier(exactly: "state:\(table.name.schema.name).\(table.name.name.name)").quoted)"
        let rows = try await fixture.sql(
            "web", "SELECT \(select.joined(separator: ", ")) FROM \(stateTable) AS s WHERE item_id = $1 AND store_id = $2 AND lot = $3",
            key)
        guard let row = rows.first else { return nil }
        var values: [StateField] = []
        for (field, text) in zip(fields, row) {
            switch field.type {
            case .integer: values.append(.integer(text.flatMap { Int64($0) }))
            case .text: values.append(.text(text))
            case .integers: values.append(.integers(text.map { $0.isEmpty ? [] : $0.split(separator: ",").map { Int64($0)! } }))
            case .texts: values.append(.texts(text.map { $0.isEmpty ? [] : $0.split(separator: ",").map(String.init) }))
            }
        }
        return try StateEncoding.decode(values, empty: table.emptyRow)
    }

    /// Writes a merged state and the visible row it shows, as the daemon does (not captured).
    private func store(_ table: CaptureTable, key: [String], row: ReplicatedRow) async throws {
        let fields = try table.stateFields()
        let encoded = StateEncoding.encode(row)
        var params: [String?] = key
        var casts: [String] = []
        for (index, (field, value)) in zip(fields, encoded).enumerated() {
            switch value {
            case .integer(let number): params.append(number.map(String.init))
            case .text(let text): params.append(text)
            case .integers(let list): params.append(list.map { "{" + $0.map(String.init).joined(separator: ",") + "}" })
            case .texts(let list): params.append(list.map { "{" + $0.joined(separator: ",") + "}" })
            }
            casts.append("$\(index + 4)::\(field.type.rawValue)")
        }
        let names = fields.map(\.name.quoted)
        let stateTable = "omnisync.\(try SQLIdentifier(exactly: "state:\(table.name.schema.name).\(table.name.name.name)").quoted)"
        let upsert = """
            INSERT INTO \(stateTable) (item_id, store_id, lot, \(names.joined(separator: ", ")))
            VALUES ($1::int, $2, $3, \(casts.joined(separator: ", ")))
            ON CONFLICT (item_id, store_id, lot) DO UPDATE SET \(names.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            """
        let connection = try PostgresConnection.connect(conninfo: fixture.conninfo("web"), applicationName: "conformance")
        defer { connection.close() }
        try connection.transaction(label: "store merged state") { transaction throws(PostgresError) in
            _ = try transaction.query("SET LOCAL omnisync.applying = 'on'", label: "applying")
            _ = try transaction.query(upsert, params, label: "store state")
            let match = "item_id = $1::int AND store_id = $2 AND lot = $3"
            guard row.isPresent else {
                _ = try transaction.query("DELETE FROM \(table.name.sql) WHERE \(match)", key, label: "delete visible")
                return
            }
            _ = try transaction.query(
                "INSERT INTO \(table.name.sql) (item_id, store_id, lot) VALUES ($1::int, $2, $3) ON CONFLICT DO NOTHING", key,
                label: "create visible")
            var sets: [String] = []
            var values: [String?] = key
            for (position, entry) in table.replicated.enumerated() {
                values.append(table.visibleValues(of: row)[position])
                sets.append("\(entry.column.name.quoted) = $\(values.count)::\(entry.column.type.name)")
            }
            _ = try transaction.query("UPDATE \(table.name.sql) SET \(sets.joined(separator: ", ")) WHERE \(match)", values, label: "write visible")
        }
    }

    private func checkVisible(_ table: CaptureTable, keyMatch: String, expected: ReplicatedRow, _ context: String) async throws -> Bool {
        let columns = table.replicated.map { entry -> String in
            let name = "r.\(entry.column.name.quoted)"
            if entry.column.type.baseName == "timestamp with time zone" {
                return "to_char(\(name) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            }
            return "\(name)::text"
        }
        let rows = try await fixture.sql("web", "SELECT \(columns.joined(separator: ", ")) FROM \(table.name.sql) AS r WHERE \(keyMatch)")
        guard expected.isPresent else { return check(rows.isEmpty, "a deleted row is still visible, \(context)") }
        guard let row = rows.first else { return check(false, "the row is not visible, \(context)") }
        let shown = table.visibleValues(of: expected)
        return check(row == shown, "visible \(row) but the state shows \(shown), \(context)")
    }

    private func check(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) -> Bool {
        if !condition { XCTFail(message(), line: line) }
        return condition
    }
}

extension GeneratedCaptureConformanceTests {
    /// `omnisync.record_count` names the table, the key in key order and the column; anything
    /// else is an error in the caller's statement that says what is wrong.
    func testRecordCountRefusesWhatItCannotCount() async throws {
        let table = try Self.conformanceTable("StockItem", rows: .mutable(delete: .refuse))
        try await installForCounts(table)
        try await fixture.sql("web", "INSERT INTO pos.\"StockItem\" (item_id, store_id, lot, qty) VALUES (1, 's', 'L', 5)")
        for (statement, code) in [
            ("SELECT omnisync.record_count('pos.nothing', ARRAY['1', 's', 'L'], 'qty', 1)", "42P01"),
            ("SELECT omnisync.record_count('pos.\"StockItem\"', ARRAY['1', 's'], 'qty', 1)", "22004"),
            ("SELECT omnisync.record_count('pos.\"StockItem\"', ARRAY['1', 's', 'L'], 'price', 1)", "42703"),
            ("SELECT omnisync.record_count('pos.\"StockItem\"', ARRAY['2', 's', 'L'], 'qty', 1)", "P0002"),
        ] {
            do {
                try await fixture.sql("web", statement)
                XCTFail("accepted: \(statement)")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, code, "\(statement): \(error)")
            }
        }
        try await fixture.sql("web", "SELECT omnisync.record_count('pos.\"StockItem\"', ARRAY['1', 's', 'L'], 'qty', 12)")
        try await fixture.sql("web", "UPDATE pos.\"StockItem\" SET qty = qty - 1")
        let shown = try await fixture.value("web", "SELECT qty FROM pos.\"StockItem\"")
        XCTAssertEqual(shown, "11", "a sale after the count applies on top of it")
    }
}

extension GeneratedCaptureConformanceTests {
    /// An insert-only table: the insert is captured with every column stamped by it, exactly as
    /// Swift's local insert; an UPDATE or DELETE fails the application's statement.
    func testAnInsertOnlyRowIsCapturedOnceAndNeverChanged() async throws {
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        let base = try Self.conformanceTable("ledger", rows: .insertOnly)
        let table = CaptureTable(
            id: base.id, name: base.name, key: base.key,
            columns: base.columns.map { .init($0.name, $0.type, $0.rule == .local ? .local : .immutable) }, rows: .insertOnly)
        try await installForCounts(table)
        try await fixture.sql(
            "web", "INSERT INTO pos.ledger (item_id, store_id, lot, qty, price, status) VALUES (1, 's', 'L', 5, '9.99', 'paid')")
        let stored = try await storedState(table, key: ["1", "s", "L"])
        var expected = table.emptyRow
        let writes: [(column: Int, write: ReplicatedRow.ColumnWrite)] = [
            (0, .value("5")), (1, .value("0.000")), (2, .value("9.99")), (3, .value(nil)), (4, .value(nil)), (5, .value("paid")),
            (6, .value(nil)),
        ]
        XCTAssertEqual(
            expected.applyLocalWrite(site: "web", wallClock: stored?.highWater ?? 0, isInsert: true, writes: writes), .applied)
        XCTAssertEqual(stored, expected)
        for (statement, code) in [("UPDATE pos.ledger SET qty = 6", "0A000"), ("DELETE FROM pos.ledger", "0A000")] {
            do {
                try await fixture.sql("web", statement)
                XCTFail("accepted: \(statement)")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, code, "\(statement): \(error)")
            }
        }
    }
}
