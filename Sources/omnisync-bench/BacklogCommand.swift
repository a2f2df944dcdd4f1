import Postgres

/// `backlog`: writes `--updates` single-row decrements at the source (while the daemon is
/// stopped), `--per-transaction` UPDATE statements to a transaction, from `--connections` clients.
/// Update k decrements row k mod rows; the statements of a transaction go in key order, so
/// clients never deadlock.
enum BacklogCommand {
    static func run(_ arguments: [String]) throws {
        var options = try BenchArguments(arguments)
        let source = try options.source()
        let rows = try RowSet(&options)
        let updates = try options.int("updates")
        let perTransaction = try options.int("per-transaction", default: 100)
        let connections = try options.int("connections", default: 2)
        try options.checkAllUsed()
        guard perTransaction > 0, connections > 0 else { throw BenchFailure.usage("--per-transaction and --connections must be positive") }

        let transactions = (updates + perTransaction - 1) / perTransaction
        let outcome = try Workers.run(connections) { client, ready in
            let connection = try PostgresConnection.connect(
                conninfo: source.conninfo, applicationName: "omnisync-bench", label: "connect source")
            defer { connection.close() }
            ready()
            for transaction in stride(from: client, to: transactions, by: connections) {
                let first = transaction * perTransaction
                let indexes = (first..<min(first + perTransaction, updates)).map { $0 % rows.count }.sorted()
                let script = "BEGIN;" + indexes.map(rows.decrementLiteral).joined() + "COMMIT;"
                try connection.execute(script: script, label: "write backlog")
            }
            return WallClock.micros()
        }
        let finished = outcome.results.max() ?? outcome.startedAt
        var lines = ResultLines()
        lines.add("backlog_updates", updates)
        lines.add("backlog_transactions", transactions)
        lines.add("backlog_write_seconds", Double(finished - outcome.startedAt) / 1e6)
        lines.print()
    }
}
