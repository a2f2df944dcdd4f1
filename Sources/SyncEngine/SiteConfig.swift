/// One `[site NAME]` section of the configuration: a PostgreSQL database taking part in sync.
public struct SiteConfig: Sendable, Equatable, CustomStringConvertible {
    /// 1–63 characters of `a-z 0-9 -`, unique in the file.
    public let name: String
    /// A libpq connection string or URI. May hold a password: never log it as is.
    public let conninfo: String
    /// A hub (the web shop, a head office) receives every row of every table, whatever its route.
    public let isHub: Bool
    /// The locations this site sells from: the values of a `location` route's column whose rows
    /// it receives. The site's own name unless the section says otherwise. Never empty.
    public let locations: [String]
    /// Line of the section header, for messages about this site.
    public let line: Int

    public init(name: String, conninfo: String, isHub: Bool = false, locations: [String]? = nil, line: Int) {
        self.name = name
        self.conninfo = conninfo
        self.isHub = isHub
        self.locations = locations ?? [name]
        self.line = line
    }

    /// Names the site without its conninfo, so interpolating a site cannot leak a password.
    public var description: String { "site \(name)" }
}
