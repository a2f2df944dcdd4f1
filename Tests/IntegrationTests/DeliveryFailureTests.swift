import DaemonKit
import Foundation
import SyncEngine
import TestSupport
import XCTest

/// A link whose target fails in a way retrying alone will not cure (here a table gone missing)
/// keeps retrying every round, but says so once at warning, not once per round, and says when
/// it is over.
final class DeliveryFailureTests: XCTestCase {
    var fixture: SyncFixture!

    override func setUp() async throws {
        fixture = try await SyncFixture.make()
    }

    override func tearDown() async throws {
        await fixture?.tearDown()
    }

    func testALastingFailureIsLoggedWhenItStartsAndWhenItEndsNotEveryRound() async throws {
        try await fixture.sql("store-a", "INSERT INTO retail.stock VALUES ('lasting', 'store-a', 5, 0)")
        try await fixture.sql("web", "ALTER TABLE omnisync.cursors RENAME TO cursors_elsewhere")
        let engine = fixture.makeEngine()
        for _ in 0..<3 {
            await engine.deliver(link: "store-a>web")
        }
        let failed = fixture.logs.records(withMessage: "delivery failed, retrying every round")
        XCTAssertEqual(failed.count, 1, "logged once, not per round: \(failed)")
        XCTAssertEqual(failed.first?.level, .warning)
        XCTAssertEqual(failed.first?["at"], "web")
        XCTAssertEqual(failed.first?["failed_rounds"], "1")
        XCTAssertTrue(failed.first?[LogKey.error]?.contains("42P01") == true, "\(failed)")
        XCTAssertTrue(fixture.logs.records.allSatisfy { $0.level < .error }, "nothing at error: \(fixture.logs.records)")

        try await fixture.sql("web", "ALTER TABLE omnisync.cursors_elsewhere RENAME TO cursors")
        await engine.deliver(link: "store-a>web")
        let resumed = fixture.logs.records(withMessage: "delivery resumed")
        XCTAssertEqual(resumed.count, 1)
        XCTAssertEqual(resumed.first?["failed_rounds"], "3")
        let delivered = try await fixture.onHand("web", sku: "lasting", location: "store-a")
        XCTAssertEqual(delivered, 5, "the link delivers again")
        await engine.shutdown()
    }
}
