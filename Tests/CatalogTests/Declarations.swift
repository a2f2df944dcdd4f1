import Foundation
import Catalog
import XCTest

/// Reads `[table NAME]` sections from INI-shaped text, numbering lines from 1, as the
/// configuration loader hands them over (values trimmed, no comments).
func declarations(_ text: String) throws -> [TableDeclaration] {
    var sections: [(name: String, line: Int, entries: [TableDeclaration.Entry])] = []
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty { continue }
        if line.hasPrefix("[table ") && line.hasSuffix("]") {
            sections.append((String(line.dropFirst(7).dropLast()), offset + 1, []))
            continue
        }
        let equals = line.firstIndex(of: "=")!
        sections[sections.count - 1].entries.append(
            (
                key: line[..<equals].trimmingCharacters(in: .whitespaces),
                value: line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces), line: offset + 1
            ))
    }
    var result: [TableDeclaration] = []
    for section in sections {
        result.append(try TableDeclaration.parse(name: section.name, line: section.line, entries: section.entries))
    }
    return result
}

/// The one declared table in `text`.
func declaredTable(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> TableSpec {
    let all = try declarations(text)
    guard all.count == 1, case .table(let spec) = all[0] else {
        XCTFail("expected one declared table", file: file, line: line)
        throw SyntaxError("not one declared table")
    }
    return spec
}

/// The catalog of the sections in `text`.
func catalog(_ text: String) throws -> TableCatalog {
    try TableCatalog(declarations: declarations(text))
}

/// Asserts that `body` throws a DeclarationError at `line` about `key` whose message contains `fragment`.
func assertDeclarationError<T>(
    _ body: @autoclosure () throws -> T, line expectedLine: Int, key expectedKey: String?, _ fragment: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? DeclarationError else {
            return XCTFail("not a DeclarationError: \(error)", file: file, line: line)
        }
        XCTAssertEqual(error.line, expectedLine, "\(error)", file: file, line: line)
        XCTAssertEqual(error.key, expectedKey, "\(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
    }
}

func ident(_ text: String) -> SQLIdentifier {
    try! SQLIdentifier.parse(text)
}

func table(_ text: String) -> QualifiedName {
    try! QualifiedName.parse(text)
}
