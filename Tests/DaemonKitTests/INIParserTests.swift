import DaemonKit
import XCTest

final class INIParserTests: XCTestCase {
    func testSectionsEntriesCommentsAndLineNumbers() throws {
        let text = """
            # leading comment
            ; another

            [daemon]
            log_level = debug            # trailing comment
            batch_size=500;not a comment
            path = /a b/c ; comment

            [site web]   # header comment
            conninfo = postgresql://h/db?x=1#frag
            empty =
            \tindented = yes
            """
        let document = try INIParser.parse(text, file: "t.conf")
        XCTAssertEqual(document.file, "t.conf")
        XCTAssertEqual(document.sections.count, 2)

        let daemon = document.sections[0]
        XCTAssertEqual(daemon.name, "daemon")
        XCTAssertNil(daemon.argument)
        XCTAssertEqual(daemon.line, 4)
        XCTAssertEqual(
            daemon.entries,
            [
                INIDocument.Entry(key: "log_level", value: "debug", line: 5),
                INIDocument.Entry(key: "batch_size", value: "500;not a comment", line: 6),
                INIDocument.Entry(key: "path", value: "/a b/c", line: 7),
            ])

        let site = document.sections[1]
        XCTAssertEqual(site.name, "site")
        XCTAssertEqual(site.argument, "web")
        XCTAssertEqual(site.header, "[site web]")
        XCTAssertEqual(site.line, 9)
        XCTAssertEqual(
            site.entries,
            [
                INIDocument.Entry(key: "conninfo", value: "postgresql://h/db?x=1#frag", line: 10),
                INIDocument.Entry(key: "empty", value: "", line: 11),
                INIDocument.Entry(key: "indented", value: "yes", line: 12),
            ])
    }

    func testCRLFAndByteOrderMark() throws {
        let document = try INIParser.parse("\u{FEFF}[a]\r\nk = v\r\n\r\n[b]\r\nx = y", file: "f")
        XCTAssertEqual(document.sections.map(\.name), ["a", "b"])
        XCTAssertEqual(document.sections[0].entries, [INIDocument.Entry(key: "k", value: "v", line: 2)])
        XCTAssertEqual(document.sections[1].entries, [INIDocument.Entry(key: "x", value: "y", line: 5)])
    }

    func testRepeatedSectionsAreKeptForTheCaller() throws {
        let document = try INIParser.parse("[site a]\nk = 1\n[site a]\nk = 2\n", file: "f")
        XCTAssertEqual(document.sections.map(\.line), [1, 3])
    }

    private static let invalidKey = "invalid key name (use letters, digits, '_', '-', '.', and \"…\" around a part that needs others)"

    /// A column that PostgreSQL needs quoted is written quoted in the key, `=` and spaces included.
    func testDoubleQuotedPartsOfAKeyHoldAnyCharacter() throws {
        let document = try INIParser.parse(
            "[table pos.\"StockItem\"]\ncolumn.\"lastSoldAt\" = greatest\ncolumn.\"a = b\" = lww # odd\ncolumn.\"Stück\" = local\n",
            file: "x.conf")
        XCTAssertEqual(document.sections.first?.argument, "pos.\"StockItem\"")
        XCTAssertEqual(document.sections.first?.entries.map(\.key), ["column.\"lastSoldAt\"", "column.\"a = b\"", "column.\"Stück\""])
        XCTAssertEqual(document.sections.first?.entries.map(\.value), ["greatest", "lww", "local"])
    }

    /// Every kind of syntax error names the file and line, and the key when there is one.
    func testEveryErrorKindNamesFileLineAndKey() {
        let cases: [(text: String, line: Int, key: String?, message: String)] = [
            ("[daemon\n", 1, nil, "section header is missing its closing ']'"),
            ("[daemon] x\n", 1, nil, "unexpected text after section header"),
            ("\n[]\n", 2, nil, "empty section header '[]'"),
            ("[da!mon]\n", 1, nil, "invalid section name 'da!mon'"),
            ("[a]\njust words\n", 2, nil, "expected 'key = value' or a [section] header"),
            ("[a]\n = v\n", 2, nil, "missing key name before '='"),
            ("[a]\nbad key = v\n", 2, "bad key", Self.invalidKey),
            ("[a]\ncolumn.\"open = v\n", 2, "column.\"open", Self.invalidKey),
            ("k = v\n", 1, "k", "entry outside any section; put a [section] header above it"),
            ("[a]\nk = 1\n\nk = 2\n", 4, "k", "set twice in [a] (first on line 2)"),
        ]
        for testCase in cases {
            XCTAssertThrowsError(try INIParser.parse(testCase.text, file: "/etc/x.conf"), testCase.text) { error in
                guard let error = error as? INIError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.file, "/etc/x.conf")
                XCTAssertEqual(error.line, testCase.line, testCase.text)
                XCTAssertEqual(error.key, testCase.key, testCase.text)
                XCTAssertEqual(error.message, testCase.message, testCase.text)
                let expected =
                    "/etc/x.conf:\(testCase.line): "
                    + (testCase.key.map { "key '\($0)': " } ?? "") + testCase.message
                XCTAssertEqual(error.description, expected)
            }
        }
    }
}
