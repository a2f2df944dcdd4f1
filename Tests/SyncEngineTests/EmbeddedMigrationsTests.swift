import Foundation
import SyncEngine
import XCTest

/// The binary carries schema/*.sql so that an installed omnisync can migrate without the
/// checkout; this fails when the embedded copy drifts from the files.
final class EmbeddedMigrationsTests: XCTestCase {
    private var schemaDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schema")
    }

    func testEmbeddedMigrationsMatchTheSchemaDirectory() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: schemaDirectory.path)
            .filter { $0.range(of: #"^\d{4}_.*\.sql$"#, options: .regularExpression) != nil }.sorted()
        XCTAssertEqual(
            files.map { ($0 as NSString).deletingPathExtension }, Migration.all.map(\.name),
            "run scripts/embed-schema.sh after changing schema/")
        for (file, migration) in zip(files, Migration.all) {
            var text = try String(contentsOf: schemaDirectory.appendingPathComponent(file), encoding: .utf8)
            if text.hasSuffix("\n") { text.removeLast() }
            XCTAssertEqual(text, migration.sql, "\(file) differs from the embedded copy: run scripts/embed-schema.sh")
        }
    }

    func testVersionsAreNumberedWithoutGaps() {
        XCTAssertEqual(Migration.all.map(\.version), Array(1...Migration.all.count))
        XCTAssertEqual(Migration.latestVersion, Migration.all.count)
    }
}
