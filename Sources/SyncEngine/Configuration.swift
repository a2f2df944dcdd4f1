#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Catalog
import DaemonKit

/// The whole configuration file, validated: daemon settings and the sites in file order.
///
/// Loading checks everything before anything connects: a file that loads is one the daemon
/// can run with.
public struct Configuration: Sendable, Equatable {
    public static let defaultPath = "/etc/omnisync/omnisync.conf"

    /// The file it was read from, for messages and for reloading.
    public var path: String
    public var daemon: DaemonSettings
    /// In file order.
    public var sites: [SiteConfig]
    /// The `[table SCHEMA.NAME]` sections, in file order.
    public var tables: [TableDeclaration]
    /// The built-in tables with the declarations merged in, validated across tables.
    public var catalog: TableCatalog

    public init(
        path: String, daemon: DaemonSettings = DaemonSettings(), sites: [SiteConfig], tables: [TableDeclaration] = [],
        catalog: TableCatalog = .builtIn
    ) {
        self.path = path
        self.daemon = daemon
        self.sites = sites
        self.tables = tables
        self.catalog = catalog
    }

    /// The declared tables of the application's own (not the built-in retail ones).
    public var declaredTables: [TableSpec] {
        catalog.tables.filter { !$0.isBuiltIn }
    }

    /// What this version delivers: routes `all`, `location COLUMN` and `follow NAMESPACE COLUMN` (by a
    /// key column) on the tables whose capture is generated, `location COLUMN` on `retail.stock`, and
    /// both on `retail.cart_items`;
    /// `with` routes, other routes of v1's five retail tables and checks added to the retail tables
    /// are parsed and checked but not delivered yet, so every command but `omnisync check` refuses
    /// them, rather than run as if the key were not there.
    public func requireOnlyBuiltInReplication() throws(ConfigurationError) {
        for declaration in tables {
            switch declaration {
            case .table(let spec):
                if let problem = Self.unsupported(spec.route, table: spec.name, key: spec.key?.map(\.name), rows: spec.rows) {
                    throw ConfigurationError(file: path, line: spec.line, key: "route", message: problem)
                }
            case .builtIn(let override):
                guard override.checks.isEmpty else {
                    throw ConfigurationError(
                        file: path, line: override.line, key: "check.\(override.checks[0].kind)",
                        message: "[table \(override.name)]: checks of the retail tables are not supported by this version yet")
                }
                let route = override.route ?? .all
                guard route != .all else { continue }
                guard let builtIn = BuiltInTables.generatedCapture.first(where: { $0.name == override.name }) else {
                    // v1's counter tables, by a key column (the catalog checked it is one). Stock is
                    // never taken away from a store (the daemon's role may not delete it), so not by a follow.
                    switch route {
                    case .location where override.name == BuiltInTables.stock.name: continue
                    case .location where override.name == BuiltInTables.cartItems.name,
                        .follow where override.name == BuiltInTables.cartItems.name:
                        continue
                    default: break
                    }
                    throw ConfigurationError(
                        file: path, line: override.line, key: "route",
                        message: "[table \(override.name)]: this version routes retail.stock by 'location COLUMN',"
                            + " retail.cart_items by 'location COLUMN' or 'follow NAMESPACE COLUMN', and v1's other"
                            + " retail tables 'all'; remove the key or set it to all")
                }
                if let problem = Self.unsupported(route, table: override.name, key: builtIn.key?.map(\.name), rows: builtIn.rows) {
                    throw ConfigurationError(file: path, line: override.line, key: "route", message: problem)
                }
            }
        }
    }

    /// Why this version cannot deliver a table's rows by `route`, if it cannot.
    private static func unsupported(_ route: Route, table: QualifiedName, key: [SQLIdentifier]?, rows: TableSpec.Rows) -> String? {
        switch route {
        case .all:
            return nil
        case .location(let column), .follow(_, let column):
            // A mutable table's route column is a key column (the catalog checks it once the key is
            // known); an insert-only one's must be too, for now: the row's place is read from its key.
            guard rows == .insertOnly else { return nil }
            if let key, key.contains(column) { return nil }
            return "[table \(table)]: an insert_only table is routed by a column of its key in this version;"
                + " declare 'key =' with \(column) in it"
        case .with:
            return "[table \(table)]: 'route = \(route)' is not supported by this version yet; use all, location COLUMN"
                + " or follow NAMESPACE COLUMN"
        }
    }

    public func site(named name: String) -> SiteConfig? {
        sites.first { $0.name == name }
    }

    /// Reads and validates the file at `path`. A missing or unreadable file is an error that
    /// names the file and the reason.
    ///
    /// A file with what this version cannot replicate yet is refused (see
    /// `requireOnlyBuiltInReplication`) unless `allowingDeclaredTables`, which only `omnisync check` passes.
    public static func load(path: String, allowingDeclaredTables: Bool = false) throws(ConfigurationError) -> Configuration {
        let text = try readText(path: path)
        let configuration = try parse(text, path: path)
        if !allowingDeclaredTables { try configuration.requireOnlyBuiltInReplication() }
        return configuration
    }

    /// Validates configuration text; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> Configuration {
        let document: INIDocument
        do {
            document = try INIParser.parse(text, file: path)
        } catch {
            throw ConfigurationError(file: path, line: error.line, key: error.key, message: error.message)
        }

        var daemon = DaemonSettings()
        var daemonLine: Int?
        var sites: [SiteConfig] = []
        var tables: [TableDeclaration] = []
        for section in document.sections {
            func failure(_ message: String) -> ConfigurationError {
                ConfigurationError(file: path, line: section.line, key: nil, message: message)
            }
            switch section.name {
            case ConfigurationSetting.Section.daemon.rawValue:
                guard section.argument == nil else {
                    throw failure("section [daemon] takes no name")
                }
                if let daemonLine {
                    throw failure("duplicate section [daemon] (first on line \(daemonLine))")
                }
                daemonLine = section.line
                daemon = try apply(section, of: .daemon, path: path).daemon

            case ConfigurationSetting.Section.site.rawValue:
                guard let name = section.argument else {
                    throw failure("a site section needs a name: [site NAME]")
                }
                guard ConfigurationSettings.isValidSiteName(name) else {
                    throw failure(
                        "invalid site name '\(name)': use 1-\(ConfigurationSettings.siteNameMaxLength)"
                            + " characters of a-z, 0-9 and '-'")
                }
                if let first = sites.first(where: { $0.name == name }) {
                    throw failure("duplicate site '\(name)' (first defined on line \(first.line))")
                }
                let draft = try apply(section, of: .site, path: path)
                sites.append(
                    SiteConfig(
                        name: name, conninfo: draft.conninfo ?? "", isHub: draft.hub ?? false,
                        locations: draft.locations, line: section.line))

            case "table":
                guard let name = section.argument else {
                    throw failure("a table section needs a name: [table SCHEMA.NAME]")
                }
                do {
                    tables.append(
                        try TableDeclaration.parse(
                            name: name, line: section.line, entries: section.entries.map { ($0.key, $0.value, $0.line) }))
                } catch {
                    throw ConfigurationError(file: path, line: error.line, key: error.key, message: error.message)
                }

            default:
                throw failure("unknown section [\(section.name)]; expected [daemon], [site NAME] or [table SCHEMA.NAME]")
            }
        }
        let catalog: TableCatalog
        do {
            catalog = try TableCatalog(declarations: tables)
        } catch {
            throw ConfigurationError(file: path, line: error.line, key: error.key, message: error.message)
        }

        guard sites.count >= 2 else {
            throw ConfigurationError(
                file: path, line: nil, key: nil,
                message: "at least two [site NAME] sections are required, found \(sites.count)")
        }
        return Configuration(path: path, daemon: daemon, sites: sites, tables: tables, catalog: catalog)
    }

    /// Checks and stores every entry of one section against the settings table, then checks
    /// that its required keys are there.
    private static func apply(
        _ section: INIDocument.Section, of kind: ConfigurationSetting.Section, path: String
    ) throws(ConfigurationError) -> ConfigurationSetting.Draft {
        var draft = ConfigurationSetting.Draft()
        for entry in section.entries {
            guard let setting = ConfigurationSettings.setting(section: kind, key: entry.key) else {
                throw ConfigurationError(
                    file: path, line: entry.line, key: entry.key,
                    message: "unknown key in \(section.header) (known: "
                        + ConfigurationSettings.keys(in: kind).joined(separator: ", ") + ")")
            }
            do {
                try setting.apply(entry.value, &draft)
            } catch {
                throw ConfigurationError(file: path, line: entry.line, key: entry.key, message: error.message)
            }
        }
        for setting in ConfigurationSettings.all where setting.section == kind && setting.required {
            guard section.entries.contains(where: { $0.key == setting.key }) else {
                throw ConfigurationError(
                    file: path, line: section.line, key: setting.key, message: "required in \(section.header)")
            }
        }
        return draft
    }

    private static func readText(path: String) throws(ConfigurationError) -> String {
        func failure(_ reason: Int32) -> ConfigurationError {
            ConfigurationError(
                file: path, line: nil, key: nil,
                message: "cannot read configuration file: \(String(cString: strerror(reason)))")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: path, line: nil, key: nil, message: "not valid UTF-8 text")
        }
        return text
    }
}
