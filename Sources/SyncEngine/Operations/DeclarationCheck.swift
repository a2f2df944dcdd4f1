import Catalog
import Postgres

/// `omnisync check`: every declared table at every site (or one) against its declaration, read
/// only — the problems `TableResolver` finds, each with its fix. Nothing is changed anywhere.
public struct DeclarationCheck: Sendable {
    public struct Report: Sendable {
        /// Per checked site, in configuration order: the problems found there.
        public var problems: [(site: String, problem: CheckProblem)] = []
        /// Sites that could not be read, with the reason.
        public var unreachable: [(site: String, reason: String)] = []
        public var tablesChecked = 0
        public var sitesChecked = 0

        public var hasFatal: Bool { problems.contains { $0.problem.severity == .fatal } }

        /// One line per problem and its fix, then a summary.
        public func render() -> [String] {
            var lines: [String] = []
            for (site, problem) in problems {
                let place = problem.column.map { "\(problem.table) column \($0)" } ?? "\(problem.table)"
                lines.append("\(site): \(place): \(problem.severity.rawValue): \(problem.message)")
                lines.append("    fix: \(problem.fix)")
            }
            let fatal = problems.filter { $0.problem.severity == .fatal }.count
            if problems.isEmpty {
                lines.append("no problems: \(tablesChecked) declared table(s) at \(sitesChecked) site(s)")
            } else {
                lines.append("\(problems.count) problem(s), \(fatal) fatal: \(tablesChecked) declared table(s) at \(sitesChecked) site(s)")
            }
            return lines
        }
    }

    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Checks `siteName` only, or every site.
    public func run(siteName: String? = nil) async -> Report {
        var scoped = configuration
        if let siteName { scoped.sites = scoped.sites.filter { $0.name == siteName } }
        let tables = configuration.declaredTables
        let results = await SiteQueries(configuration: scoped).each(label: "check") { _, connection -> [CheckProblem] in
            var problems: [CheckProblem] = []
            var installed: [QualifiedName: CaptureTable] = [:]
            if try connection.query("SELECT to_regclass('omnisync.declared_table') IS NOT NULL", label: "look for declared tables")
                .rows.first?[0] == "t"
            {
                for row in try connection.query(DeclaredTableRecords.select, label: "read declared tables").rows {
                    if let table = try? CaptureTable(descriptionText: row[2] ?? "") { installed[table.name] = table }
                }
            }
            for spec in tables {
                let facts = try TableIntrospector.facts(of: spec.name, connection: connection)
                let resolved = TableResolver.resolve(spec, facts: facts)
                problems += resolved.problems
                if let before = installed[spec.name] {
                    problems += TableResolver.drift(installed: before, resolved: resolved.table, facts: facts)
                }
            }
            return problems
        }
        var report = Report()
        report.tablesChecked = tables.count
        for (site, result) in results {
            switch result {
            case .success(let problems):
                report.sitesChecked += 1
                report.problems += problems.map { (site.name, $0) }
            case .failure(let error):
                report.unreachable.append((site.name, SiteQueries.reason(error)))
            }
        }
        return report
    }
}
