import Catalog
import MergeCore
import XCTest

@testable import SyncEngine

/// Each target's share of a source's page (CONTRACT §8): rows routed to the target go as they
/// are; rows routed away go *held only* (applied only where the target already holds them, as a
/// site that wrote them does); rows whose source is not routed them are marked to come back to it
/// when the target holds more.
final class RouteSharesTests: XCTestCase {
    private let configuration = """
        [site web]
        conninfo = dbname=web
        hub = yes
        [site store-a]
        conninfo = dbname=a
        locations = store-a, store-a-back
        [site store-b]
        conninfo = dbname=b
        [table pos.stock]
        key = sku, location
        column.on_hand = counter
        route = location location
        [table pos.prices]
        key = sku
        column.price = lww
        """

    private func setting() throws -> (RouteShares, GeneratedTables, stock: Int, prices: Int) {
        let parsed = try Configuration.parse(configuration, path: "x.conf")
        func id(_ text: String) throws -> SQLIdentifier { try SQLIdentifier(exactly: text) }
        func spec(_ name: String) throws -> TableSpec {
            try XCTUnwrap(parsed.catalog.tables.first { $0.name.description == name })
        }
        let stockSpec = try spec("pos.stock"), pricesSpec = try spec("pos.prices")
        let stock = CaptureTable(
            id: stockSpec.id, name: stockSpec.name, key: [.init(try id("sku"), .text), .init(try id("location"), .text)],
            columns: [.init(try id("on_hand"), .bigint, .counter)], rows: stockSpec.rows)
        let prices = CaptureTable(
            id: pricesSpec.id, name: pricesSpec.name, key: [.init(try id("sku"), .text)],
            columns: [.init(try id("price"), .text, .lww)], rows: pricesSpec.rows)
        let tables = GeneratedTables(appliers: [
            Int(stock.id.rawValue): try DeclaredApplier(table: stock), Int(prices.id.rawValue): try DeclaredApplier(table: prices),
        ])
        let routes = RouteShares(router: Router(sites: parsed.sites), catalog: parsed.catalog)
        return (routes, tables, Int(stock.id.rawValue), Int(prices.id.rawValue))
    }

    private let state = [StateField.integer(1)]

    private func page(stock: Int, prices: Int) -> ChangeBatch {
        let keys = [["A", "store-a"], ["A", "store-a-back"], ["A", "store-b"], ["A", "web"], ["A", "nowhere"]]
        return ChangeBatch(declared: [
            stock: Dictionary(uniqueKeysWithValues: keys.map { ($0, state) }), prices: [["A"]: state],
        ])
    }

    func testARowRoutedAwayFromTheTargetGoesHeldOnly() throws {
        let (routes, tables, stock, prices) = try setting()
        XCTAssertFalse(routes.isEverywhere)
        let share = routes.share(of: page(stock: stock, prices: prices), from: "web", to: "store-a", tables: tables)
        XCTAssertEqual(share.declared[stock]?.count, 5, "every row travels; the target decides on those it may hold")
        XCTAssertEqual(share.heldOnly[stock], [["A", "store-b"], ["A", "web"], ["A", "nowhere"]])
        XCTAssertNil(share.heldOnly[prices], "a table routed all goes everywhere")
        XCTAssertNil(share.returnIfAhead[stock], "the hub is routed every row")
    }

    func testAHubIsRoutedEveryRow() throws {
        let (routes, tables, stock, prices) = try setting()
        let share = routes.share(of: page(stock: stock, prices: prices), from: "store-b", to: "web", tables: tables)
        XCTAssertNil(share.heldOnly[stock])
        XCTAssertEqual(share.returnIfAhead[stock], [["A", "store-a"], ["A", "store-a-back"], ["A", "web"], ["A", "nowhere"]],
                       "what store-b wrote outside its own location comes back to it when web holds more")
    }

    func testBetweenTwoStores() throws {
        let (routes, tables, stock, prices) = try setting()
        let share = routes.share(of: page(stock: stock, prices: prices), from: "store-b", to: "store-a", tables: tables)
        XCTAssertEqual(share.heldOnly[stock], [["A", "store-b"], ["A", "web"], ["A", "nowhere"]])
        XCTAssertEqual(share.returnIfAhead[stock], [["A", "store-a"], ["A", "store-a-back"], ["A", "web"], ["A", "nowhere"]])
    }

    func testVerifyAndLinksAskTheSamePlace() throws {
        let (routes, tables, stock, _) = try setting()
        let table = try XCTUnwrap(tables.applier(stock)?.table)
        XCTAssertEqual(routes.place(tableID: stock, key: ["A", "store-a-back"], table: table), .location("store-a-back"))
        for site in ["web", "store-a"] {
            XCTAssertTrue(routes.routesByPlace(site, tableID: stock, key: ["A", "store-a-back"], table: table), site)
        }
        XCTAssertFalse(routes.routesByPlace("store-b", tableID: stock, key: ["A", "store-a-back"], table: table))
    }

    func testAFollowedValueIsRoutedToTheSitesThatFollowIt() throws {
        let parsed = try Configuration.parse(
            configuration + "\n[table pos.card]\nkey = customer_id\ncolumn.points = counter\nroute = follow customer customer_id\n",
            path: "x.conf")
        let spec = try XCTUnwrap(parsed.catalog.tables.first { $0.name.description == "pos.card" })
        let card = CaptureTable(
            id: spec.id, name: spec.name, key: [.init(try SQLIdentifier(exactly: "customer_id"), .text)],
            columns: [.init(try SQLIdentifier(exactly: "points"), .bigint, .counter)], rows: spec.rows)
        let id = Int(card.id.rawValue)
        let tables = GeneratedTables(appliers: [id: try DeclaredApplier(table: card)])
        let routes = RouteShares(router: Router(sites: parsed.sites), catalog: parsed.catalog)
        XCTAssertTrue(routes.hasFollowRoutes)
        XCTAssertEqual(routes.followed(namespace: "customer", tables: tables).map(\.keyColumn), [0])
        XCTAssertTrue(routes.followed(namespace: "cart", tables: tables).isEmpty)
        var follows = FollowIndex()
        follows.follow(site: "store-b", namespace: "customer", value: "C-1")
        let batch = ChangeBatch(declared: [id: [["C-1"]: state, ["C-2"]: state]])
        let toFollower = routes.share(of: batch, from: "web", to: "store-b", tables: tables)
        XCTAssertEqual(toFollower.heldOnly[id], [["C-1"], ["C-2"]], "held only, unless store-b follows them where it applies")
        XCTAssertEqual(toFollower.followed[id], FollowedRoute(namespace: "customer", keyColumn: 0))
        let toHub = routes.share(of: batch, from: "store-b", to: "web", tables: tables)
        XCTAssertNil(toHub.heldOnly[id])
        XCTAssertNil(toHub.followed[id], "the hub takes every row in")
        let fromFollower = routes.share(of: batch, from: "store-b", to: "web", tables: tables, sourceFollows: follows)
        XCTAssertEqual(fromFollower.returnIfAhead[id], [["C-2"]], "store-b wrote C-2 without following it")
        XCTAssertFalse(routes.routesByPlace("store-a", tableID: id, key: ["C-1"], table: card, follows: follows))
    }

    func testWithEveryTableRoutedAllAShareIsThePage() throws {
        let parsed = try Configuration.parse("[site web]\nconninfo = dbname=web\n[site store-a]\nconninfo = dbname=a\n", path: "x.conf")
        let routes = RouteShares(router: Router(sites: parsed.sites), catalog: parsed.catalog)
        XCTAssertTrue(routes.isEverywhere)
        let batch = ChangeBatch(declared: [7: [["C-1"]: state]])
        let share = routes.share(of: batch, from: "web", to: "store-a", tables: .builtIn)
        XCTAssertEqual(share.declared[7]?.keys.map { $0 }, [["C-1"]])
        XCTAssertTrue(share.heldOnly.isEmpty)
        XCTAssertTrue(share.returnIfAhead.isEmpty)
    }
}
