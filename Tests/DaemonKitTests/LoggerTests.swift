import DaemonKit
import XCTest

final class LoggerTests: XCTestCase {
    func testRecordsMessageAndOrderedMetadata() {
        let memory = MemoryLogHandler()
        let logger = Logger(handler: memory)
        logger.info("site connected", [LogKey.site: "web", LogKey.durationMs: 12])
        let records = memory.records
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records[0].level, .info)
        XCTAssertEqual(records[0].message, "site connected")
        XCTAssertEqual(
            records[0].metadata,
            [LogField(key: "site", value: .string("web")), LogField(key: "duration_ms", value: .int(12))])
        XCTAssertEqual(records[0]["duration_ms"], "12")
    }

    func testWithAddsBaseMetadataAndCallSiteOverrides() {
        let memory = MemoryLogHandler()
        let logger = Logger(handler: memory).with([LogKey.site: "web", LogKey.peer: "store-1"])
        logger.warning("batch failed", [LogKey.peer: "store-2", LogKey.sqlstate: "40001"])
        XCTAssertEqual(memory.records[0].metadata.map(\.key), ["site", "peer", "sqlstate"])
        XCTAssertEqual(memory.records[0]["peer"], "store-2")
        XCTAssertEqual(logger.metadata.map(\.key), ["site", "peer"], "the base logger is unchanged")
    }

    func testLevelFilter() {
        let memory = MemoryLogHandler(minimumLevel: .notice)
        let logger = Logger(handler: memory)
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        XCTAssertEqual(memory.records.map(\.message), ["n", "w", "e"])
        XCTAssertFalse(logger.isEnabled(.info))
        memory.removeAll()
        XCTAssertTrue(memory.records.isEmpty)
    }

    func testValueConversion() {
        let count: UInt64 = .max
        XCTAssertEqual(LogValue(42), .int(42))
        XCTAssertEqual(LogValue(Int32(-3)), .int(-3))
        XCTAssertEqual(LogValue(count), .string("18446744073709551615"))
        XCTAssertEqual(LogValue(0.5), .double(0.5))
        XCTAssertEqual(LogValue(Double.nan).description, "nan")
        XCTAssertEqual(LogValue(true), .bool(true))
        XCTAssertEqual(LogValue("x"), .string("x"))
        XCTAssertEqual(LogValue(LogValue.int(1)), .int(1))
    }
}
