import Catalog
import DaemonKit
import SyncEngine

/// `omnisync explain`: how one row's merged value came to be, read from one site.
struct ExplainCommand: Subcommand {
    static let name = "explain"
    static let summary = "show how a row's value came to be: each site's part, counts and deletes"
    static let discussion = [
        "Reads one row of a replicated table (retail.stock, cart_items, orders, order_lines,",
        "returns, customers, loyalty, order_status; the retail. prefix may be left out) at the",
        "site named by --site, or at the first site of the configuration that can be reached.",
        "KEY are the row's key values in key order: stock SKU LOCATION, cart_items CART_ID SKU,",
        "orders ORDER_ID, order_lines ORDER_ID LINE_NO, returns RETURN_ID, customers, loyalty",
        "CUSTOMER_ID, order_status ORDER_ID.",
        "",
        "For a counter column (on_hand, reserved, quantity) it shows the visible and the merged",
        "value, the physical count (or, for a cart item, the deletes) that applies with where",
        "and when it was made and what it had seen of each site, then each site's contribution",
        "with its clock entry and its change since the count, and the sum. For a cart item, also",
        "whether the row is present and which changes no delete had seen. For an order, order",
        "line or return: where and when it was created. For customers, loyalty and order_status,",
        "per column its rule and what decided it: the count and each site's part of loyalty",
        "points, and the write a customer's column or an order's status shows, with where and",
        "when it was made (for a status, also what it had seen). A declared table is named",
        "SCHEMA.NAME with its key values in key order, and explained the same way. Changes",
        "nothing.",
    ]
    static let site = OptionSpec(long: "site", valueName: "NAME", help: "read the row at this site")
    static let json = OptionSpec(long: "json", help: "print one JSON object instead of text")
    static let options = [site, json]
    static let positionals = ["TABLE", "KEY", "[KEY...]"]
    /// A key has at most 32 columns, as a PostgreSQL index has.
    static let maxPositionals = 1 + 32
    static let exitCodes: KeyValuePairs<ExitCode, String> = [
        .ok: "the row was explained",
        .failure: "the site has no such row, or its state cannot be read",
        .usage: "bad usage: no table, an unknown table, or the wrong number of key values",
        .unavailable: "the site named by --site, or every site, could not be reached",
        .config: "configuration error",
    ]
    static let example = "omnisync explain -c /etc/omnisync/omnisync.conf --site store-042 stock SKU-1001 store-042"

    let shared: SharedOptions
    let siteName: String?
    let asJSON: Bool
    /// v1's tables have their own explanation; the tables of CONTRACT §7 the generic one.
    enum Table {
        case v1(ReplicatedTable)
        case generated(CaptureTable)
        /// An application's table: known once the configuration is read.
        case declared(QualifiedName)
    }

    let table: Table
    let key: [String]

    init(_ arguments: ParsedArguments) throws(CommandFailure) {
        shared = SharedOptions(arguments)
        siteName = try SharedOptions.siteName(arguments, Self.site, command: Self.name)
        asJSON = arguments.flag(Self.json.long)
        guard let tableName = arguments.positionals.first else {
            throw .usage(message: "missing TABLE and KEY", command: Self.name)
        }
        let key = Array(arguments.positionals.dropFirst())
        if let table = RowExplanation.table(named: tableName) {
            if let problem = RowExplanation.keyProblem(key, for: table) { throw .usage(message: problem, command: Self.name) }
            self.table = .v1(table)
        } else if let table = DeclaredRowExplanation.table(named: tableName) {
            if let problem = DeclaredRowExplanation.keyProblem(key, for: table) {
                throw .usage(message: problem, command: Self.name)
            }
            self.table = .generated(table)
        } else if let name = try? QualifiedName.parse(tableName), name.schema.name != BuiltInTables.schema {
            self.table = .declared(name)
        } else {
            let known = (ReplicatedTable.allCases.map { "retail.\($0.name)" } + DeclaredRowExplanation.tableNames)
                .joined(separator: ", ")
            throw .usage(message: "unknown table '\(tableName)' (one of \(known), or a declared SCHEMA.NAME)", command: Self.name)
        }
        self.key = key
    }

    func run() async throws(CommandFailure) {
        let configuration = try shared.loadConfiguration()
        try SharedOptions.requireSite(siteName, in: configuration, command: Self.name)
        switch table {
        case .v1(let table):
            let row = "retail.\(table.name) " + zip(table.keyColumns, key).map { "\($0)=\($1)" }.joined(separator: " ")
            let lookup = await RowExplanation.lookUp(configuration: configuration, siteName: siteName, table: table, key: key)
            try report(lookup, row: row) { ($0.site, $0.isExplained, asJSON ? [$0.renderJSON()] : $0.renderText()) }
        case .generated(let table):
            let row = "\(table.name) " + zip(table.key, key).map { "\($0.name.name)=\($1)" }.joined(separator: " ")
            let lookup = await DeclaredRowExplanation.lookUp(configuration: configuration, siteName: siteName, table: table, key: key)
            try report(lookup, row: row) { ($0.site, $0.isExplained, asJSON ? [$0.renderJSON()] : $0.renderText()) }
        case .declared(let name):
            guard configuration.catalog.table(named: name).map({ !$0.isBuiltIn }) == true else {
                let declared = configuration.declaredTables.map(\.name.description).joined(separator: ", ")
                throw .usage(
                    message: "\(name) is not declared in \(configuration.path) (declared: \(declared.isEmpty ? "none" : declared))",
                    command: Self.name)
            }
            let row = "\(name) " + key.joined(separator: " ")
            let lookup = await DeclaredRowExplanation.lookUp(configuration: configuration, siteName: siteName, declared: name, key: key)
            try report(lookup, row: row) { ($0.site, $0.isExplained, asJSON ? [$0.renderJSON()] : $0.renderText()) }
        }
    }

    /// Prints what was found and turns the lookup into the exit status.
    private func report<Found>(
        _ lookup: ExplainLookup<Found>, row: String, _ render: (Found) -> (site: String, explained: Bool, lines: [String])
    ) throws(CommandFailure) {
        switch lookup {
        case .found(let explanation):
            let (site, explained, lines) = render(explanation)
            for line in lines { Console.out(line) }
            guard explained else {
                throw .failed(message: "\(row): no readable sync state at site \(site)")
            }
        case .unknown(let site):
            throw .failed(message: "\(row): no such row at site \(site)")
        case .failed(let site, let reason):
            throw .failed(message: "site \(site): \(reason)")
        case .badKey(let site, let reason):
            throw .usage(message: "\(reason) (the table as site \(site) has it)", command: Self.name)
        case .unreachable(let sites):
            for (site, reason) in sites {
                Console.err("omnisync: site \(site) unreachable: \(reason)")
            }
            throw .unavailable(message: siteName == nil ? "no site could be reached" : nil)
        }
    }
}
