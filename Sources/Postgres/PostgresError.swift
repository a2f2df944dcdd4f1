import Foundation

/// The one error type of the Postgres module.
///
/// It carries what a caller needs to decide (category, SQLSTATE) and what an operator needs to read
/// (message, detail, hint, the caller's statement label). It never holds SQL bind values, so its
/// `description` is safe to log.
public struct PostgresError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Category: Sendable, Equatable {
        /// The connection could not be made or was lost; the work may be retried on a new one.
        case connection
        /// The server rejected the statement.
        case query
        /// The input was refused before anything was sent (e.g. a NUL byte in a text parameter).
        case invalidInput
    }

    public let category: Category
    /// Five-character SQLSTATE, e.g. "40001"; nil when libpq itself produced the error.
    public let sqlState: String?
    /// The server's primary message, or libpq's own message, trimmed.
    public let message: String
    public let detail: String?
    public let hint: String?
    /// A label chosen by the caller (e.g. "apply batch"), never SQL text with values.
    public let statement: String

    public init(
        category: Category,
        sqlState: String?,
        message: String,
        detail: String? = nil,
        hint: String? = nil,
        statement: String
    ) {
        self.category = category
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.statement = statement
    }

    /// Whether the same work may succeed when retried, possibly on a new connection:
    /// lost connections, serialization failures, deadlocks, server shutdown or start-up,
    /// and too many connections.
    public var isTransient: Bool {
        if category == .connection { return true }
        guard let sqlState else { return false }
        if sqlState.hasPrefix("08") { return true }
        return Self.transientStates.contains(sqlState)
    }

    private static let transientStates: Set<String> = [
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        "57P01",  // admin_shutdown
        "57P02",  // crash_shutdown
        "57P03",  // cannot_connect_now
        "53300",  // too_many_connections
    ]

    /// One line without the server's DETAIL: `<statement>: <message> (sqlstate X)`. For logs,
    /// since a DETAIL often quotes the row (`Key (email)=(…) already exists`, `Failing row
    /// contains (…)`), and a customer's data has no place in the journal.
    public var summary: String {
        var line = "\(statement): \(Self.oneLine(message))"
        if let sqlState { line += " (sqlstate \(sqlState))" }
        return line
    }

    /// One line: `<statement>: <message> (sqlstate X): <detail>`.
    public var description: String {
        var line = "\(statement): \(Self.oneLine(message))"
        if let sqlState { line += " (sqlstate \(sqlState))" }
        if let detail, !detail.isEmpty { line += ": \(Self.oneLine(detail))" }
        return line
    }

    /// libpq messages can span several lines (one per host tried); logs want one.
    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

extension PostgresError {
    static func invalidInput(_ message: String, statement: String) -> PostgresError {
        PostgresError(category: .invalidInput, sqlState: nil, message: message, statement: statement)
    }

    static func connection(_ message: String, statement: String) -> PostgresError {
        PostgresError(category: .connection, sqlState: nil, message: message, statement: statement)
    }

    /// The same error with every secret of `conninfo` masked in its texts.
    func scrubbing(_ conninfo: String) -> PostgresError {
        PostgresError(
            category: category, sqlState: sqlState, message: ConnInfo.scrub(message, of: conninfo),
            detail: detail.map { ConnInfo.scrub($0, of: conninfo) }, hint: hint.map { ConnInfo.scrub($0, of: conninfo) },
            statement: statement)
    }
}
