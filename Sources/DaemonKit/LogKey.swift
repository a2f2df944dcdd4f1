/// Metadata key names shared by every log line of the project, so that one idea has one spelling
/// and operators can filter on it (`site=web`, `sqlstate=40001`).
public enum LogKey {
    /// The site the line is about (the one connected to, read from or written to).
    public static let site = "site"
    /// The other site of a pair, e.g. the target a batch from `site` is applied to.
    public static let peer = "peer"
    public static let rows = "rows"
    public static let changes = "changes"
    public static let durationMs = "duration_ms"
    /// A conflict kind (`over_return`, `oversell`, ...) or another classifier.
    public static let kind = "kind"
    /// A row key, e.g. `sku/location`.
    public static let key = "key"
    public static let error = "error"
    public static let sqlstate = "sqlstate"
    /// Changes captured at a site and not yet delivered everywhere.
    public static let backlog = "backlog"
    public static let count = "count"
    public static let version = "version"
    /// The configuration file path.
    public static let config = "config"
}
