/// The rows of one statement, copied out of libpq in text format.
public struct QueryResult: Sendable {
    public let columns: [String]
    /// Text-format values; SQL NULL is nil.
    public let rows: [[String?]]
    /// Rows inserted, updated, deleted, selected... as reported by the server; 0 when it reports none.
    public let affectedRows: Int
    /// The command tag, e.g. "UPDATE 3" or "COMMIT".
    public let commandTag: String

    public init(columns: [String], rows: [[String?]], affectedRows: Int, commandTag: String = "") {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    /// Index of the first column with this name.
    public func column(_ name: String) -> Int? {
        columns.firstIndex(of: name)
    }
}
