import Foundation
import XCTest

/// Waits until `body` holds, checking every 100 ms; records a failure naming `message` when
/// `timeout` seconds pass first.
public func eventually(
    timeout: Double = 20, _ message: String,
    file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await body() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    XCTFail("timed out after \(Int(timeout))s: \(message)", file: file, line: line)
}
