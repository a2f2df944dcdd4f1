import XCTest

extension XCTestCase {
    /// `XCTAssert` that also answers whether it held, so a randomized test can stop at its first
    /// counterexample instead of burying it under thousands of follow-on failures.
    @discardableResult
    func check(
        _ condition: @autoclosure () -> Bool,
        _ message: @autoclosure () -> String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) -> Bool {
        if condition() { return true }
        XCTFail(message(), file: file, line: line)
        return false
    }
}
