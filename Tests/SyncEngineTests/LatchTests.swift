import XCTest

@testable import SyncEngine

/// The latch that stop and readiness are awaited on: every waiter resumes when it opens, a
/// waiter after that returns at once, and a cancelled waiter stops waiting.
final class LatchTests: XCTestCase {
    func testEveryWaiterResumesWhenItOpens() async {
        let latch = Latch()
        let resumed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await latch.wait()
                    return 1
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
            XCTAssertFalse(latch.isOpen)
            latch.open()
            return await group.reduce(0, +)
        }
        XCTAssertEqual(resumed, 50)
        XCTAssertTrue(latch.isOpen)
    }

    func testAWaitAfterOpeningReturnsAtOnceAndOpeningTwiceIsHarmless() async {
        let latch = Latch()
        latch.open()
        latch.open()
        await latch.wait()
        XCTAssertTrue(latch.isOpen)
    }

    func testACancelledWaiterStopsWaitingAndTheLatchStaysClosed() async {
        let latch = Latch()
        let waiter = Task { await latch.wait() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        // Cancelled before it could register, too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await latch.wait()
        }
        await early.value
        XCTAssertFalse(latch.isOpen)
    }
}
