/// One `[site NAME]` section of the configuration: a PostgreSQL database taking part in sync.
public struct SiteConfig: Sendable, Equatable, CustomStringConvertible {
    /// 1–63 characters of `a-z 0-9 -`, unique in the file.
    public let name: String
    /// A libpq connection string or URI. May hold a password: never log it as is.
    public let conninfo: String
    /// Line of the section header, for messages about this site.
    public let line: Int

    public init(name: String, conninfo: String, line: Int) {
        self.name = name
        self.conninfo = conninfo
        self.line = line
    }

    /// Names the site without its conninfo, so interpolating a site cannot leak a password.
    public var description: String { "site \(name)" }
}
