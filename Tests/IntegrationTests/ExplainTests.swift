import Foundation
import SyncEngine
import TestSupport
import XCTest

/// `omnisync explain` from the command line against real sites: a stock figure taken apart into
/// the count and each site's sales, a cart item kept by an add a delete had not seen, an order's
/// origin, and the exit codes for an unknown row, a wrong key and a site out of reach.
final class ExplainTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func explain(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try SyncFixture.omnisync(["explain", "-c", fixture.configPath] + arguments)
    }

    private func object(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one JSON object on one line: \(text)", file: file, line: line)
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(parsed as? [String: Any], text, file: file, line: line)
    }

    /// store-a opens the row with 50; store-b sells 2, which store-a sees before it counts 40;
    /// the web sells 3 the count cannot have seen; store-a sells 1 after the count: 36.
    private func stockFromThreeSitesAndACount() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('sku-1', 'store-a', 50, 0)")
        await fixture.syncOnce()
        try await fixture.sql("store-b", "UPDATE retail.stock SET on_hand = on_hand - 2 WHERE sku = 'sku-1'")
        await fixture.syncOnce()
        try await fixture.sql("web", "UPDATE retail.stock SET on_hand = on_hand - 3 WHERE sku = 'sku-1'")
        try await fixture.sql("store-a", "SELECT retail.record_count('sku-1', 'store-a', 40)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = 'sku-1'")
        await fixture.syncOnce()
        for site in fixture.siteNames {
            let onHand = try await fixture.onHand(site, sku: "sku-1", location: "store-a")
            XCTAssertEqual(onHand, 36, "at \(site)")
        }
    }

    func testAStockRowFromSalesAtThreeSitesAndACountAddsUp() async throws {
        try await stockFromThreeSitesAndACount()
        let result = try explain(["--site", "web", "retail.stock", "sku-1", "store-a"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        print(result.stdout)
        XCTAssertEqual(lines.first, "row: retail.stock sku=sku-1 location=store-a read at site web")
        XCTAssertTrue(lines.contains("on_hand: visible=36 merged=36"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  count: counted 40 at site store-a at 20") && $0.contains("Z (hybrid time ") }, result.stdout)
        XCTAssertTrue(lines.contains("  the count had seen of store-a: clock=2 contribution=50"), result.stdout)
        XCTAssertTrue(lines.contains("  the count had seen of store-b: clock=1 contribution=-2"), result.stdout)
        XCTAssertFalse(lines.contains { $0.contains("the count had seen of web") }, "the count had not seen the web's sale")
        XCTAssertTrue(lines.contains("  site store-a: clock=3 contribution=49 observed=50 since=- 1"), result.stdout)
        XCTAssertTrue(lines.contains("  site store-b: clock=1 contribution=-2 observed=-2 since=+ 0"), result.stdout)
        XCTAssertTrue(lines.contains("  site web: clock=1 contribution=-3 observed=0 since=- 3"), result.stdout)
        XCTAssertTrue(lines.contains("  result: 40 - 1 + 0 - 3 = 36"), result.stdout)
        XCTAssertTrue(lines.contains("reserved: visible=0 merged=0"), result.stdout)
        XCTAssertFalse(result.stdout.contains("DIFFERS"), result.stdout)

        // The numbers of the JSON object add up to the visible figure.
        let json = try explain(["--site", "web", "--json", "stock", "sku-1", "store-a"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let explained = try object(json.stdout)
        XCTAssertEqual(explained["site"] as? String, "web")
        XCTAssertEqual(explained["table"] as? String, "retail.stock")
        XCTAssertEqual(explained["key"] as? [String: String], ["sku": "sku-1", "location": "store-a"])
        XCTAssertEqual(explained["state"] as? String, "counter")
        XCTAssertEqual(explained["clock"] as? [String: Int], ["store-a": 3, "store-b": 1, "web": 1])
        let columns = try XCTUnwrap(explained["columns"] as? [[String: Any]])
        XCTAssertEqual(columns.map { $0["name"] as? String }, ["on_hand", "reserved"])
        let onHand = columns[0]
        let reset = try XCTUnwrap(onHand["reset"] as? [String: Any])
        XCTAssertEqual(reset["kind"] as? String, "count")
        XCTAssertEqual(reset["site"] as? String, "store-a")
        let counted = try XCTUnwrap(reset["counted"] as? Int)
        let seen = try XCTUnwrap(reset["seen"] as? [[String: Any]])
        XCTAssertEqual(seen.map { $0["site"] as? String }, ["store-a", "store-b"])
        let sites = try XCTUnwrap(onHand["sites"] as? [[String: Any]])
        XCTAssertEqual(sites.map { $0["site"] as? String }, ["store-a", "store-b", "web"])
        let sinceCount = sites.compactMap { $0["since"] as? Int }.reduce(0, +)
        for site in sites {
            XCTAssertEqual(
                (site["contribution"] as? Int).map { $0 - (site["observed"] as? Int ?? 0) }, site["since"] as? Int, "\(site)")
        }
        XCTAssertEqual(counted + sinceCount, 36)
        XCTAssertEqual(onHand["merged"] as? Int, 36)
        XCTAssertEqual(onHand["visible"] as? Int, 36)
        XCTAssertEqual(onHand["result"] as? Int, 36)
        XCTAssertEqual(onHand["differs"] as? Bool, false)
        XCTAssertTrue(columns[1]["reset"] is NSNull, "reserved has no count")
        let time = try XCTUnwrap(reset["time"] as? String)
        XCTAssertNotNil(ISO8601DateFormatter().date(from: time.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)), time)
    }

    func testWithoutSiteTheFirstReachableSiteAnswers() async throws {
        try await stockFromThreeSitesAndACount()
        let gone = "host=/nonexistent-omnisync-socket dbname=x connect_timeout=2"
        let path = try fixture.writeConfig(
            named: "explain-gone.conf", sites: [("store-gone", gone), ("store-b", fixture.conninfo("store-b"))])
        let result = try SyncFixture.omnisync(["explain", "-c", path, "stock", "sku-1", "store-a"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("row: retail.stock sku=sku-1 location=store-a read at site store-b\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("  result: 40 - 1 + 0 - 3 = 36\n"), result.stdout)

        let asked = try SyncFixture.omnisync(["explain", "-c", path, "--site", "store-gone", "stock", "sku-1", "store-a"])
        XCTAssertEqual(asked.status, 69, asked.stdout + asked.stderr)
        XCTAssertTrue(asked.stderr.contains("site store-gone unreachable"), asked.stderr)

        let noneUp = try fixture.writeConfig(named: "explain-none.conf", sites: [("store-gone", gone), ("store-lost", gone)])
        let none = try SyncFixture.omnisync(["explain", "-c", noneUp, "stock", "sku-1", "store-a"])
        XCTAssertEqual(none.status, 69, none.stdout + none.stderr)
        XCTAssertTrue(none.stderr.contains("no site could be reached"), none.stderr)
    }

    func testACartItemKeptByAnAddTheDeleteHadNotSeen() async throws {
        try await fixture.sql("web", "INSERT INTO retail.cart_items VALUES ('cart-2', 'sku-1', 2)")
        await fixture.syncOnce()
        try await fixture.sql("web", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-2'")
        try await fixture.sql("store-a", "UPDATE retail.cart_items SET quantity = quantity + 1 WHERE cart_id = 'cart-2'")
        await fixture.syncOnce()
        let result = try explain(["--site", "store-b", "cart_items", "cart-2", "sku-1"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        print(result.stdout)
        XCTAssertTrue(lines.contains("present: yes (visible row: yes)"), result.stdout)
        XCTAssertTrue(lines.contains("quantity: visible=1 merged=1"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  deletes: the latest at site web at ") }, result.stdout)
        XCTAssertTrue(lines.contains("  the deletes had seen of web: clock=2 contribution=2"), result.stdout)
        XCTAssertTrue(lines.contains("  not seen by any delete: store-a clock=1 (deletes had seen 0): add wins"), result.stdout)
        XCTAssertTrue(lines.contains("  result: 0 + 1 + 0 = 1"), result.stdout)

        let json = try object(try explain(["--site", "store-b", "--json", "retail.cart_items", "cart-2", "sku-1"]).stdout)
        XCTAssertEqual(json["present"] as? Bool, true)
        let quantity = try XCTUnwrap((json["columns"] as? [[String: Any]])?.first)
        let reset = try XCTUnwrap(quantity["reset"] as? [String: Any])
        XCTAssertEqual(reset["kind"] as? String, "delete")
        XCTAssertEqual((reset["unseen"] as? [[String: Any]])?.map { $0["site"] as? String }, ["store-a"])

        // A delete that saw everything: the state stays and says the item is gone.
        try await fixture.sql("store-b", "DELETE FROM retail.cart_items WHERE cart_id = 'cart-2'")
        await fixture.syncOnce()
        let deleted = try explain(["--site", "web", "cart_items", "cart-2", "sku-1"])
        XCTAssertEqual(deleted.status, 0, deleted.stdout + deleted.stderr)
        XCTAssertTrue(deleted.stdout.contains("present: no (visible row: no)\n"), deleted.stdout)
        XCTAssertTrue(deleted.stdout.contains("  every change was seen by a delete: the item is deleted\n"), deleted.stdout)
        XCTAssertFalse(deleted.stdout.contains("DIFFERS"), deleted.stdout)
    }

    func testAnOrderRecordNamesWhereAndWhenItWasCreated() async throws {
        try await fixture.sql(
            "web", "INSERT INTO retail.orders VALUES ('ord-1', 'cust-9', 'web', '2026-11-30 10:00:00+00')")
        await fixture.syncOnce()
        let result = try explain(["--site", "store-a", "orders", "ord-1"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print(result.stdout)
        XCTAssertTrue(result.stdout.contains("\nrecord: created at site web at 20"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\n  customer_id=cust-9\n  channel=web\n"), result.stdout)
        let json = try object(try explain(["--site", "store-a", "--json", "orders", "ord-1"]).stdout)
        XCTAssertEqual(json["state"] as? String, "record")
        XCTAssertEqual(json["origin"] as? String, "web")
        XCTAssertEqual((json["fields"] as? [String: Any])?["customer_id"] as? String, "cust-9")
        XCTAssertEqual(json["key"] as? [String: String], ["order_id": "ord-1"])
    }

    func testAnUnknownRowIs1AndAWrongKeyIs64() async throws {
        let unknown = try explain(["--site", "web", "stock", "sku-none", "store-a"])
        XCTAssertEqual(unknown.status, 1, unknown.stdout + unknown.stderr)
        XCTAssertEqual(unknown.stdout, "")
        XCTAssertTrue(unknown.stderr.contains("no such row at site web"), unknown.stderr)
        let line = try explain(["order_lines", "ord-1", "1"])
        XCTAssertEqual(line.status, 1, line.stdout + line.stderr)
        XCTAssertTrue(line.stderr.contains("no such row at site web"), "the first site answers: \(line.stderr)")

        for arguments in [["stock", "sku-1"], ["orders"], ["order_lines", "ord-1", "one"], ["shelves", "x"], [], ["stock", "a", "b", "c"]] {
            let result = try explain(arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("omnisync explain --help"), result.stderr)
        }
        let noSite = try explain(["--site", "store-z", "stock", "sku-1", "store-a"])
        XCTAssertEqual(noSite.status, 64, noSite.stderr)
    }

    func testARowWhoseStateCannotBeReadIs1WithTheReason() async throws {
        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('sku-7', 'web', 5, 0)")
        try await fixture.sql(
            "web", "UPDATE omnisync.stock_state SET versions = '{1,2}' WHERE sku = 'sku-7'")
        let result = try explain(["--site", "web", "stock", "sku-7", "web"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("state: unreadable: state arrays differ in length or repeat a site"), result.stdout)
        XCTAssertTrue(result.stderr.contains("no readable sync state at site web"), result.stderr)

        try await fixture.sql("web", "INSERT INTO retail.stock VALUES ('sku-8', 'web', 5, 0)")
        try await fixture.sql("web", "DELETE FROM omnisync.stock_state WHERE sku = 'sku-8'")
        let stateless = try explain(["--site", "web", "stock", "sku-8", "web"])
        XCTAssertEqual(stateless.status, 1, stateless.stdout + stateless.stderr)
        XCTAssertTrue(stateless.stdout.contains("state: none: the row is visible here but omnisync has no sync state for it"), stateless.stdout)
        XCTAssertTrue(stateless.stdout.contains("  visible: on_hand=5 reserved=0"), stateless.stdout)
    }
}

/// `explain` for the tables of CONTRACT §7: a loyalty balance from points earned and redeemed at
/// three sites and a count, and an order status with the write that decided it.
final class ExplainRetailTablesTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func explain(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try SyncFixture.omnisync(["explain", "-c", fixture.configPath] + arguments)
    }

    /// The web opens the balance with 100; store-a redeems 30, which the web sees before it counts
    /// 200; store-b redeems 5 the count cannot have seen: 195.
    func testALoyaltyBalanceFromThreeSitesAndACountAddsUp() async throws {
        try await fixture.sql("web", "INSERT INTO retail.loyalty VALUES ('C-1', 100)")
        await fixture.syncOnce()
        try await fixture.sql("store-a", "UPDATE retail.loyalty SET points = points - 30")
        await fixture.syncOnce()
        try await fixture.sql("store-b", "UPDATE retail.loyalty SET points = points - 5")
        try await fixture.sql("web", "SELECT omnisync.record_count('retail.loyalty', ARRAY['C-1'], 'points', 200)")
        await fixture.syncOnce()

        let text = try explain(["--site", "store-a", "loyalty", "C-1"])
        XCTAssertEqual(text.status, 0, text.stdout + text.stderr)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "row: retail.loyalty customer_id=C-1 read at site store-a")
        XCTAssertTrue(lines.contains("points: visible=195 merged=195 (counter)"), text.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  count at web 20") && $0.hasSuffix(": 200, as of {store-a:1,web:2}") }, text.stdout)
        XCTAssertTrue(lines.contains("  site store-a: clock=1 contribution=-30 observed=-30 since=+0"), text.stdout)
        XCTAssertTrue(lines.contains("  site store-b: clock=1 contribution=-5 observed=0 since=-5"), text.stdout)
        XCTAssertTrue(lines.contains("  site web: clock=2 contribution=100 observed=100 since=+0"), text.stdout)
        XCTAssertTrue(lines.contains("  = 195"), text.stdout)

        let json = try explain(["--site", "web", "--json", "retail.loyalty", "C-1"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["table"] as? String, "retail.loyalty")
        let columns = try XCTUnwrap(object["columns"] as? [[String: Any]])
        XCTAssertEqual(columns.first?["merged"] as? String, "195")
        let count = try XCTUnwrap(columns.first?["count"] as? [String: Any])
        XCTAssertEqual(count["counted"] as? Int, 200)
        let sites = try XCTUnwrap(columns.first?["sites"] as? [[String: Any]])
        XCTAssertEqual(sites.map { $0["site"] as? String }, ["store-a", "store-b", "web"])
        XCTAssertEqual(sites.map { $0["contribution"] as? Int }, [-30, -5, 100])
    }

    func testAnOrderStatusShowsTheWriteThatDecidedIt() async throws {
        try await fixture.sql("web", "INSERT INTO retail.order_status VALUES ('O-5', 'placed', 'store-b')")
        await fixture.syncOnce()
        try await fixture.sql("store-b", "UPDATE retail.order_status SET status = 'ready'")
        await fixture.syncOnce()
        let result = try explain(["order_status", "O-5"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(
            lines.contains("status: visible=ready merged=ready (status(placed, paid, ready, cancelled, collected))"), result.stdout)
        XCTAssertTrue(
            lines.contains { $0.hasPrefix("  written at store-b 20") && $0.hasSuffix(", having seen {store-b:1,web:1}") }, result.stdout)
        XCTAssertTrue(lines.contains("location: visible=store-b merged=store-b (lww)"), result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  written at web 20") }, result.stdout)

        let unknown = try explain(["order_status", "O-404"])
        XCTAssertEqual(unknown.status, 1, unknown.stdout + unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("no such row"), unknown.stderr)
        let wrong = try explain(["loyalty", "C-1", "extra"])
        XCTAssertEqual(wrong.status, 64, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("retail.loyalty has 1 key column(s) (customer_id), 2 value(s) given"), wrong.stderr)
    }
}
