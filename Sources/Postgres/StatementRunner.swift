/// Something that runs statements: a `PostgresConnection` (each statement as sent: in autocommit,
/// or in a transaction block the caller opened) or a `Transaction` (inside that transaction).
///
/// Code that runs statements either inside or outside a transaction takes one of these, and so
/// says it does not care which.
public protocol StatementRunner {
    /// Runs one statement with text parameters `$1...$n` and returns its rows as text. `label`
    /// names the statement in errors; values never appear there.
    @discardableResult
    func query(_ sql: String, _ params: [String?], label: String) throws(PostgresError) -> QueryResult

    /// Runs `statements` in one round trip and returns their results in order; the first failure
    /// is thrown, and the statements after it do not run.
    @discardableResult
    func pipeline(_ statements: [PostgresConnection.Statement]) throws(PostgresError) -> [QueryResult]

    /// Runs a script of several statements (a migration).
    func execute(script: String, label: String) throws(PostgresError)
}

extension StatementRunner {
    /// Runs one statement without parameters.
    @discardableResult
    public func query(_ sql: String, label: String) throws(PostgresError) -> QueryResult {
        try query(sql, [], label: label)
    }
}
