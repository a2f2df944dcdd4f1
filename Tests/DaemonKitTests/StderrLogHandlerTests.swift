import DaemonKit
import Foundation
import XCTest

final class StderrLogHandlerTests: XCTestCase {
    /// Runs `body` with a handler writing into a pipe and returns what it wrote.
    func capture(environment: [String: String] = [:], _ body: (StderrLogHandler) -> Void) throws -> [String] {
        var descriptors: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&descriptors), 0)
        let handler = StderrLogHandler(
            minimumLevel: .info, format: .logfmt, environment: environment, fileDescriptor: descriptors[1])
        body(handler)
        close(descriptors[1])
        let data = FileHandle(fileDescriptor: descriptors[0], closeOnDealloc: true).readDataToEndOfFile()
        let text = try XCTUnwrap(String(data: data, encoding: .utf8))
        XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"))
        return text.split(separator: "\n").map(String.init)
    }

    func testOneLinePerRecordAtOrAboveTheLevel() throws {
        let lines = try capture { handler in
            let logger = Logger(handler: handler)
            logger.debug("hidden")
            logger.info("site connected", [LogKey.site: "web"])
            logger.error("stopped", [LogKey.error: "line one\nline two"])
        }
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasSuffix(#"level=info msg="site connected" site=web"#), lines[0])
        XCTAssertTrue(lines[1].hasSuffix(#"level=error msg=stopped error="line one\nline two""#), lines[1])
    }

    func testJournaldPrefixWhenJournalStreamIsSet() throws {
        let lines = try capture(environment: ["JOURNAL_STREAM": "8:12345"]) { handler in
            let logger = Logger(handler: handler)
            logger.info("i")
            logger.warning("w")
        }
        XCTAssertTrue(lines[0].hasPrefix("<6>ts="), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("<4>ts="), lines[1])
    }

    /// A command's own error lines (`Console.err`) carry the priority as the log lines do, every
    /// line of a message that has several.
    func testConsoleLinesCarryTheirPriorityForTheJournal() {
        XCTAssertEqual(Console.journalLines("omnisync: bad", level: .error, journald: true), "<3>omnisync: bad\n")
        XCTAssertEqual(Console.journalLines("one\ntwo", level: .warning, journald: true), "<4>one\n<4>two\n")
        XCTAssertEqual(Console.journalLines("one\ntwo", level: .error, journald: false), "one\ntwo\n")
    }

    func testLevelAndFormatChangeAtRunTime() throws {
        let lines = try capture { handler in
            let logger = Logger(handler: handler)
            logger.debug("before")
            handler.minimumLevel = .debug
            handler.logFormat = .json
            XCTAssertEqual(handler.minimumLevel, .debug)
            XCTAssertEqual(handler.logFormat, .json)
            logger.debug("after", [LogKey.rows: 3])
        }
        XCTAssertEqual(lines.count, 1)
        let fields = try XCTUnwrap(LogLineParser.parse(lines[0], format: .json))
        XCTAssertEqual(fields.map(\.key), ["ts", "level", "msg", "rows"])
        XCTAssertEqual(fields[2].value, .string("after"))
        XCTAssertEqual(fields[3].value, .int(3))
    }
}
