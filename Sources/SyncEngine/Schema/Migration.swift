/// One numbered, forward-only schema migration from `schema/`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The schema version this binary installs and expects.
    public static var latestVersion: Int { all.last?.version ?? 0 }
}
