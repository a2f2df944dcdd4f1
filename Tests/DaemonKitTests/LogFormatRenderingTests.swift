import DaemonKit
import Foundation
import XCTest

final class LogFormatRenderingTests: XCTestCase {
    /// 2026-01-01T00:00:00.000Z
    let newYear = Date(timeIntervalSince1970: 1_767_225_600)

    /// Values chosen to break a careless encoder.
    let hostileValues = [
        "", " ", "plain", "two words", "a=b", "==", "\"quoted\"", "back\\slash", "trailing\\",
        "line\nbreak", "cr\rlf\r\n", "tab\there", "nul\u{0}byte", "bell\u{7}", "del\u{7F}",
        "c1\u{85}next", "sep\u{2028}para\u{2029}", "unicode: café 東京 🧾", "key=value other=\"x\"",
        "msg=forged level=error", "{\"json\": true}", "\\\"", "#;comment", "\u{FEFF}bom", "rtl\u{202E}txt.exe",
    ]

    func record(_ metadata: [LogField], message: String = "site connected") -> LogRecord {
        LogRecord(timestamp: newYear, level: .info, message: message, metadata: metadata)
    }

    func testLogfmtGoldenLine() {
        let line = LogFormat.logfmt.render(
            record([LogField(key: "site", value: .string("web")), LogField(key: "duration_ms", value: .int(12))]))
        XCTAssertEqual(line, #"ts=2026-01-01T00:00:00.000Z level=info msg="site connected" site=web duration_ms=12"#)
    }

    func testLogfmtQuotesAndEscapes() {
        let line = LogFormat.logfmt.render(
            record(
                [
                    LogField(key: "a", value: .string("two words")),
                    LogField(key: "b", value: .string("q\"b\\n\nend")),
                    LogField(key: "c", value: .string("")),
                    LogField(key: "d", value: .string("k=v")),
                    LogField(key: "e", value: .string("\u{1}")),
                ], message: "x"))
        XCTAssertEqual(
            line,
            #"ts=2026-01-01T00:00:00.000Z level=info msg=x a="two words" b="q\"b\\n\nend" c="" d="k=v" e="\u0001""#)
    }

    func testJSONGoldenLine() {
        let line = LogFormat.json.render(
            record([
                LogField(key: "site", value: .string("web")), LogField(key: "duration_ms", value: .int(12)),
                LogField(key: "ratio", value: .double(0.5)), LogField(key: "ok", value: .bool(true)),
            ]))
        XCTAssertEqual(
            line,
            #"{"ts":"2026-01-01T00:00:00.000Z","level":"info","msg":"site connected","site":"web","duration_ms":12,"ratio":0.5,"ok":true}"#
        )
    }

    func testHostileValuesRoundTripThroughLogfmt() throws {
        for value in hostileValues {
            let line = LogFormat.logfmt.render(record([LogField(key: "site", value: .string(value))], message: value))
            XCTAssertFalse(line.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "line break leaked: \(value.debugDescription)")
            let fields = try XCTUnwrap(LogLineParser.parse(line, format: .logfmt), line)
            XCTAssertEqual(fields.map(\.key), ["ts", "level", "msg", "site"], line)
            XCTAssertEqual(fields[2].value, .string(value), line)
            XCTAssertEqual(fields[3].value, .string(value), line)
        }
    }

    func testHostileValuesRoundTripThroughJSON() throws {
        for value in hostileValues {
            let line = LogFormat.json.render(record([LogField(key: "site", value: .string(value))], message: value))
            XCTAssertFalse(line.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "line break leaked: \(value.debugDescription)")
            let fields = try XCTUnwrap(LogLineParser.parse(line, format: .json), line)
            XCTAssertEqual(fields.map(\.key), ["ts", "level", "msg", "site"], line)
            XCTAssertEqual(fields[3].value, .string(value), line)

            // An independent reader must agree.
            let object = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
            XCTAssertEqual(object["msg"] as? String, value, line)
            XCTAssertEqual(object["site"] as? String, value, line)
            XCTAssertEqual(object["level"] as? String, "info")
            XCTAssertEqual(object["ts"] as? String, "2026-01-01T00:00:00.000Z")
        }
    }

    func testTypedValuesRoundTripThroughJSON() throws {
        let metadata = [
            LogField(key: "rows", value: .int(-42)), LogField(key: "ratio", value: .double(1.25)),
            LogField(key: "ok", value: .bool(false)), LogField(key: "text", value: .string("12")),
        ]
        let line = LogFormat.json.render(record(metadata))
        let fields = try XCTUnwrap(LogLineParser.parse(line, format: .json))
        XCTAssertEqual(Array(fields.dropFirst(3)), metadata)
    }

    func testKeysCannotForgeFields() throws {
        let metadata = [
            LogField(key: "msg", value: .string("forged")), LogField(key: "bad key=x", value: .string("v")),
            LogField(key: "", value: .string("empty")),
        ]
        for format in LogFormat.allCases {
            let line = format.render(record(metadata))
            let fields = try XCTUnwrap(LogLineParser.parse(line, format: format), line)
            XCTAssertEqual(fields.map(\.key), ["ts", "level", "msg", "_msg", "bad_key_x", "_"], line)
            XCTAssertEqual(fields[2].value.description, "site connected")
        }
    }

    func testParserRejectsMalformedLines() {
        XCTAssertNil(LogLineParser.parse(#"a="unterminated"#, format: .logfmt))
        XCTAssertNil(LogLineParser.parse("novalue", format: .logfmt))
        XCTAssertNil(LogLineParser.parse(#"a="x"b=1"#, format: .logfmt))
        XCTAssertNil(LogLineParser.parse(#"{"a":1"#, format: .json))
        XCTAssertNil(LogLineParser.parse(#"{"a":[1]}"#, format: .json))
        XCTAssertNil(LogLineParser.parse(#"{"a":1} trailing"#, format: .json))
    }

    func testTimestampIsUTCWithMilliseconds() {
        let record = LogRecord(timestamp: Date(timeIntervalSince1970: 1_767_225_600.125), level: .error, message: "m")
        XCTAssertTrue(LogFormat.logfmt.render(record).hasPrefix("ts=2026-01-01T00:00:00.125Z level=error "))
    }
}
