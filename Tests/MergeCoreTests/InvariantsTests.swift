import MergeCore
import XCTest

final class InvariantsTests: XCTestCase {
    func testOverReturnNeedsAKnownOrderLine() {
        XCTAssertFalse(Invariants.isOverReturned(bought: nil, returns: [(3, "web"), (3, "store-1")]))
    }

    func testOverReturnNeedsMoreThanOneSite() {
        // One site over-returning is that site's own business: its database already allowed it.
        XCTAssertFalse(Invariants.isOverReturned(bought: 2, returns: [(2, "store-1"), (1, "store-1")]))
    }

    func testOverReturnAcrossSites() {
        XCTAssertTrue(Invariants.isOverReturned(bought: 2, returns: [(2, "store-1"), (1, "web")]))
        XCTAssertFalse(Invariants.isOverReturned(bought: 3, returns: [(2, "store-1"), (1, "web")]))
        XCTAssertFalse(Invariants.isOverReturned(bought: 3, returns: []))
    }

    func testOverReturnSumSaturates() {
        XCTAssertTrue(Invariants.isOverReturned(bought: .max - 1, returns: [(.max, "store-1"), (.max, "web")]))
    }

    func testOversell() {
        XCTAssertTrue(Invariants.isOversold(onHand: 2, reserved: 3))
        XCTAssertFalse(Invariants.isOversold(onHand: 3, reserved: 3))
    }

    func testConflictKindsUseTheContractNames() {
        XCTAssertEqual(
            ConflictKind.allCases.map(\.rawValue),
            ["over_return", "oversell", "concurrent_count", "duplicate_key", "concurrent_status", "over_redeem"])
    }
}
