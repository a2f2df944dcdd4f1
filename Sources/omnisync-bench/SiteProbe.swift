import Postgres

/// Reads a row set at one site without writing to it: counts, the convergence frontier and the
/// commit timestamps the latency figures come from. Confined to the thread that created it.
final class SiteProbe {
    let site: BenchSite
    let rows: RowSet
    private let connection: PostgresConnection
    /// Every row before this key already holds its final value (rows only move towards it).
    private var frontier: String

    init(site: BenchSite, rows: RowSet) throws {
        self.site = site
        self.rows = rows
        connection = try PostgresConnection.connect(conninfo: site.conninfo, applicationName: "omnisync-bench", label: "connect \(site.name)")
        frontier = rows.first
    }

    func countAndSum() throws -> (count: Int, sum: Int64) {
        let result = try connection.query(RowSet.countAndSum, rows.rangeParameters, label: "count rows")
        let row = result.rows.first
        return (Int(row?[0] ?? "") ?? 0, Int64(row?[1] ?? "") ?? 0)
    }

    /// Whether every row holds its value after `updates` decrements; cheap to call repeatedly,
    /// since it only reads from the first row that was not final last time.
    func isFinal(updates: Int) throws -> Bool {
        let params = [frontier, rows.last, rows.location, rows.indexOffset, String(rows.initial), String(updates), String(rows.count)]
        let result = try connection.query(RowSet.firstUnfinished, params, label: "find unfinished row")
        guard let first = result.rows.first?[0] else { return true }
        frontier = first
        return false
    }

    /// Row index → commit time (µs) of the transaction that last wrote the row here.
    func commitTimes() throws -> [Int64] {
        let result = try connection.query(RowSet.commitTimes, rows.rangeParameters + [rows.indexOffset], label: "read commit times")
        var times = [Int64](repeating: -1, count: rows.count)
        for row in result.rows {
            guard let indexText = row[0], let index = Int(indexText), index >= 0, index < rows.count else { continue }
            guard let text = row[1], let micros = Int64(text) else {
                throw BenchFailure(description: "\(site.name): no commit timestamp; is track_commit_timestamp on?")
            }
            times[index] = micros
        }
        if let missing = times.firstIndex(of: -1) {
            throw BenchFailure(description: "\(site.name): row \(rows.sku(missing)) is missing")
        }
        return times
    }

    func close() { connection.close() }
}
