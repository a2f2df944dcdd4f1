import Foundation
import TestSupport
import XCTest

@testable import Postgres

/// `omnisync.follow` and `omnisync.unfollow` (CONTRACT §8, schema/0009): what a site follows is
/// recorded in its own database, an unfollow is kept until the rows are taken away, following again
/// starts a new follow, and each change wakes the daemon.
final class FollowsTests: XCTestCase {
    private var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make(sites: ["web", "store-a"])
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    private func connect() throws -> PostgresConnection {
        try PostgresConnection.connect(conninfo: fixture.conninfo("store-a"), applicationName: "follows-test")
    }

    private func call(_ connection: PostgresConnection, _ function: String, _ namespace: String?, _ value: String?) throws -> String? {
        try connection.query("SELECT omnisync.\(function)($1, $2)::text", [namespace, value], label: function).rows.first?[0] ?? nil
    }

    /// The notifications the daemon's listening session would have had since the last call.
    private func woken(_ listener: PostgresConnection) -> [String] {
        usleep(200_000)
        XCTAssertTrue(listener.consumeInput())
        return listener.takeNotifications().map(\.payload)
    }

    func testFollowUnfollowAndFollowAgain() throws {
        let till = try connect(), listener = try connect()
        defer {
            till.close()
            listener.close()
        }
        try listener.query("LISTEN omnisync", label: "listen")
        XCTAssertEqual(try call(till, "follow", "customer", "C-42 'Ada'"), "true")
        XCTAssertEqual(woken(listener), ["follow"], "a new follow wakes the daemon")
        XCTAssertEqual(try call(till, "follow", "customer", "C-42 'Ada'"), "false", "already followed")
        XCTAssertEqual(woken(listener), [], "nothing changed, nobody woken")
        let first = try till.query("SELECT id::text FROM omnisync.follows", label: "id").rows.first?[0] ?? nil

        XCTAssertEqual(try call(till, "unfollow", "customer", "C-42 'Ada'"), "true")
        XCTAssertEqual(woken(listener), ["follow"])
        XCTAssertEqual(try call(till, "unfollow", "customer", "C-42 'Ada'"), "false")
        XCTAssertEqual(try call(till, "unfollow", "cart", "never followed"), "false")
        let kept = try till.query("SELECT unfollowed_at IS NOT NULL FROM omnisync.follows", label: "kept").rows
        XCTAssertEqual(kept, [["t"]], "an unfollow is kept until its rows are taken away")

        XCTAssertEqual(try call(till, "follow", "customer", "C-42 'Ada'"), "true", "following again")
        let again = try till.query("SELECT id::text, unfollowed_at IS NULL FROM omnisync.follows", label: "again").rows.first
        XCTAssertEqual(again?[1], "t")
        XCTAssertNotEqual(again?[0] ?? nil, first, "a new follow, told apart from the earlier one")
    }

    func testBadArgumentsAreRefusedWithTheirCodes() throws {
        let till = try connect()
        defer { till.close() }
        for (namespace, value, code) in [
            ("Customer", "C-1", "22023"), ("", "C-1", "22023"), (String(repeating: "a", count: 64), "C-1", "22023"),
            (nil, "C-1", "22023"), ("customer", nil, "22004"),
        ] as [(String?, String?, String)] {
            XCTAssertThrowsError(try call(till, "follow", namespace, value), "\(String(describing: namespace))") { error in
                XCTAssertEqual((error as? PostgresError)?.sqlState, code, "\(error)")
            }
        }
        XCTAssertEqual(try call(till, "follow", String(repeating: "a", count: 63), ""), "true", "63 characters, an empty value")
        let count = try till.query("SELECT count(*)::text FROM omnisync.follows", label: "count").rows.first?[0] ?? nil
        XCTAssertEqual(count, "1")
    }
}
