import DaemonKit
import XCTest

final class LogLevelTests: XCTestCase {
    func testOrderFromDebugToError() {
        XCTAssertEqual(LogLevel.allCases, [.debug, .info, .notice, .warning, .error])
        XCTAssertEqual(LogLevel.allCases.sorted(), LogLevel.allCases)
        XCTAssertLessThan(LogLevel.debug, .info)
        XCTAssertLessThan(LogLevel.warning, .error)
    }

    func testParsesConfigurationSpellingsOnly() {
        for level in LogLevel.allCases {
            XCTAssertEqual(LogLevel(name: level.rawValue), level)
        }
        XCTAssertNil(LogLevel(name: "INFO"))
        XCTAssertNil(LogLevel(name: "warn"))
        XCTAssertNil(LogLevel(name: ""))
    }

    func testJournaldPriorities() {
        XCTAssertEqual(LogLevel.allCases.map(\.journaldPriority), [7, 6, 5, 4, 3])
    }

    func testFormatParses() {
        XCTAssertEqual(LogFormat(name: "logfmt"), .logfmt)
        XCTAssertEqual(LogFormat(name: "json"), .json)
        XCTAssertNil(LogFormat(name: "text"))
    }
}
