import Postgres
import XCTest

final class PostgresErrorTests: XCTestCase {
    private func error(_ category: PostgresError.Category, _ sqlState: String?) -> PostgresError {
        PostgresError(category: category, sqlState: sqlState, message: "m", statement: "s")
    }

    func testTransientBySQLState() {
        for state in ["40001", "40P01", "57P01", "57P02", "57P03", "53300", "08000", "08006", "08P01"] {
            XCTAssertTrue(error(.query, state).isTransient, state)
        }
        for state in ["23505", "42601", "42P01", "22P02", "40002", "53200", "57014", "28P01"] {
            XCTAssertFalse(error(.query, state).isTransient, state)
        }
        XCTAssertFalse(error(.query, nil).isTransient)
    }

    func testTransientByCategory() {
        XCTAssertTrue(error(.connection, nil).isTransient)
        XCTAssertTrue(error(.connection, "28P01").isTransient)
        XCTAssertFalse(error(.invalidInput, nil).isTransient)
    }

    func testDescriptionIsOneLine() {
        let error = PostgresError(
            category: .query, sqlState: "40P01", message: "deadlock detected",
            detail: "Process 1 waits for ShareLock.\nProcess 2 waits for ShareLock.", hint: "See server log.",
            statement: "apply batch")
        XCTAssertEqual(
            error.description,
            "apply batch: deadlock detected (sqlstate 40P01): Process 1 waits for ShareLock.; Process 2 waits for ShareLock.")
        let connection = PostgresError(
            category: .connection, sqlState: nil,
            message: "connection to server at \"a\" failed: refused\nconnection to server at \"b\" failed: refused\n",
            statement: "connect")
        XCTAssertEqual(
            connection.description,
            "connect: connection to server at \"a\" failed: refused; connection to server at \"b\" failed: refused")
    }
}
