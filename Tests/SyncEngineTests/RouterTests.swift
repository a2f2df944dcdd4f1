import Catalog
import SyncEngine
import TestSupport
import XCTest

final class RouterTests: XCTestCase {
    /// The contract's chain (CONTRACT §8): a web hub, a store with a backroom, a second store.
    let chain = Router(sites: [
        SiteConfig(name: "web", conninfo: "x", isHub: true, line: 1),
        SiteConfig(name: "store-042", conninfo: "x", locations: ["store-042", "store-042-backroom"], line: 3),
        SiteConfig(name: "store-007", conninfo: "x", line: 6),
    ])

    func recipients(_ row: RoutedRow, follows: FollowIndex = FollowIndex()) -> [String] {
        chain.recipients(of: row, follows: follows)
    }

    func testRouteAllReachesEverySite() {
        XCTAssertEqual(recipients(RoutedRow(place: Router.place(route: .all, values: []))), ["web", "store-042", "store-007"])
    }

    func testLocationReachesTheHubsAndTheSitesSellingFromIt() throws {
        let route = Route.location(try SQLIdentifier(exactly: "location"))
        XCTAssertEqual(recipients(RoutedRow(place: Router.place(route: route, values: ["store-042"]))), ["web", "store-042"])
        XCTAssertEqual(recipients(RoutedRow(place: Router.place(route: route, values: ["store-042-backroom"]))), ["web", "store-042"])
        // A site's own name is its location unless it lists others.
        XCTAssertEqual(recipients(RoutedRow(place: Router.place(route: route, values: ["store-007"]))), ["web", "store-007"])
        XCTAssertEqual(recipients(RoutedRow(place: .location("warehouse-9"))), ["web"])
        XCTAssertEqual(recipients(RoutedRow(place: .location(nil))), ["web"])
        // Locations are values, compared exactly.
        XCTAssertEqual(recipients(RoutedRow(place: .location("Store-042"))), ["web"])
    }

    func testWritersAlwaysReceiveTheirRows() {
        XCTAssertEqual(recipients(RoutedRow(place: .location("store-042"), writers: ["store-007"])), ["web", "store-042", "store-007"])
        XCTAssertEqual(recipients(RoutedRow(place: .followed(namespace: "customer", value: "C-42"), writers: ["store-007"])), ["web", "store-007"])
        XCTAssertTrue(chain.receives("store-007", RoutedRow(place: .parentUnknown, writers: ["store-007"]), follows: FollowIndex()))
        // A writer that is no longer configured is nobody to send to.
        XCTAssertEqual(recipients(RoutedRow(place: .location(nil), writers: ["store-gone"])), ["web"])
        XCTAssertFalse(chain.receives("store-gone", RoutedRow(place: .everywhere), follows: FollowIndex()))
    }

    func testFollowReachesTheFollowersUntilTheyUnfollow() {
        var follows = FollowIndex()
        let row = RoutedRow(place: .followed(namespace: "customer", value: "C-42"))
        XCTAssertEqual(recipients(row, follows: follows), ["web"])
        follows.follow(site: "store-042", namespace: "customer", value: "C-42")
        follows.follow(site: "store-007", namespace: "cart", value: "C-42")  // another namespace
        XCTAssertEqual(recipients(row, follows: follows), ["web", "store-042"])
        XCTAssertTrue(follows.follows(site: "store-042", namespace: "customer", value: "C-42"))
        follows.follow(site: "store-007", namespace: "customer", value: "C-42")
        XCTAssertEqual(recipients(row, follows: follows), ["web", "store-042", "store-007"])
        follows.unfollow(site: "store-042", namespace: "customer", value: "C-42")
        XCTAssertEqual(recipients(row, follows: follows), ["web", "store-007"])
        follows.unfollow(site: "store-007", namespace: "customer", value: "C-42")
        follows.unfollow(site: "store-007", namespace: "cart", value: "C-42")
        XCTAssertEqual(follows, FollowIndex(), "an index with no followers left is empty")
        // A NULL route value cannot be followed.
        follows.follow(site: "store-042", namespace: "customer", value: "")
        XCTAssertEqual(recipients(RoutedRow(place: .followed(namespace: "customer", value: nil)), follows: follows), ["web"])
    }

    func testAChildGoesWhereItsParentGoesAndToTheHubsUntilItIsKnown() throws {
        var follows = FollowIndex()
        follows.follow(site: "store-042", namespace: "customer", value: "C-42")
        // A return written at store-007 before the online order is known there.
        let orphan = RoutedRow.child(of: nil, writers: ["store-007"])
        XCTAssertEqual(orphan.place, .parentUnknown)
        XCTAssertEqual(recipients(orphan, follows: follows), ["web", "store-007"])
        // Once the order (written at the web, followed by store-042) is known, the return follows it.
        let order = RoutedRow(place: .followed(namespace: "customer", value: "C-42"), writers: ["web"])
        let placed = RoutedRow.child(of: order, writers: ["store-007"])
        XCTAssertEqual(placed.writers, ["web", "store-007"])
        XCTAssertEqual(recipients(placed, follows: follows), ["web", "store-042", "store-007"])
        // A `with` route alone does not know its parent.
        XCTAssertEqual(Router.place(route: try Route.parse("with retail.orders (order_id)"), values: ["O-1"]), .parentUnknown)
    }

    func testEveryHubReceivesEveryRoutedRow() {
        let twoHubs = Router(sites: [
            SiteConfig(name: "web", conninfo: "x", isHub: true, line: 1),
            SiteConfig(name: "head-office", conninfo: "x", isHub: true, line: 3),
            SiteConfig(name: "store-1", conninfo: "x", line: 5),
        ])
        for place in [RowPlace.location("store-1"), .location(nil), .followed(namespace: "customer", value: "C-1"), .parentUnknown] {
            let chosen = twoHubs.recipients(of: RoutedRow(place: place), follows: FollowIndex())
            XCTAssertEqual(Array(chosen.prefix(2)), ["web", "head-office"], "\(place)")
            XCTAssertTrue(twoHubs.isHub("head-office"))
        }
    }

    /// On seeded chains, rows and follows: the indexed recipients are exactly the sites that
    /// receive the row one by one, in configuration order, and include every hub and every
    /// configured writer.
    func testRecipientsAgreeWithReceivesOnSeededChains() throws {
        for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x2011, defaultIterations: 200) {
            var generator = SeededGenerator(seed: seed)
            let locations = ["l1", "l2", "l3", "l4"]
            let siteCount = Int.random(in: 1...12, using: &generator)
            let sites = (0..<siteCount).map { index in
                SiteConfig(
                    name: "site-\(index)", conninfo: "x", isHub: Int.random(in: 0..<4, using: &generator) == 0,
                    locations: Bool.random(using: &generator)
                        ? nil : Array(locations.shuffled(using: &generator).prefix(Int.random(in: 1...2, using: &generator))),
                    line: index)
            }
            let router = Router(sites: sites)
            let names = sites.map(\.name) + ["site-gone"]
            var follows = FollowIndex()
            for _ in 0..<Int.random(in: 0...20, using: &generator) {
                let site = names.randomElement(using: &generator)!
                let value = ["C-1", "C-2", "C-3"].randomElement(using: &generator)!
                if Bool.random(using: &generator) {
                    follows.follow(site: site, namespace: "customer", value: value)
                } else {
                    follows.unfollow(site: site, namespace: "customer", value: value)
                }
            }
            for _ in 0..<30 {
                let place: RowPlace =
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: .everywhere
                    case 1: .location((locations + ["site-0", "nowhere"]).randomElement(using: &generator))
                    case 2: .followed(namespace: "customer", value: ["C-1", "C-2", "C-3", nil].randomElement(using: &generator)!)
                    default: .parentUnknown
                    }
                let writers = Set(names.filter { _ in Int.random(in: 0..<5, using: &generator) == 0 })
                let row = RoutedRow(place: place, writers: writers)
                let chosen = router.recipients(of: row, follows: follows)
                XCTAssertEqual(chosen, sites.map(\.name).filter { router.receives($0, row, follows: follows) }, "seed=\(seed) \(row)")
                XCTAssertTrue(Set(chosen).isSuperset(of: sites.filter(\.isHub).map(\.name)), "seed=\(seed)")
                XCTAssertTrue(Set(chosen).isSuperset(of: writers.subtracting(["site-gone"])), "seed=\(seed)")
            }
        }
    }
}
