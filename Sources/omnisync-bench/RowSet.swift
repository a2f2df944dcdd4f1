/// The stock rows one scenario writes: `count` SKUs named PREFIX + a 7-digit index, all at one
/// location, each starting with `initial` on hand. Updates are spread round-robin: update k
/// decrements row k mod count, so after `updates` updates row r holds
/// `initial - (updates / count + (r < updates % count ? 1 : 0))`.
struct RowSet: Sendable {
    static let digits = 7

    let prefix: String
    let location: String
    let count: Int
    let initial: Int64

    init(prefix: String, location: String, count: Int, initial: Int64) throws(BenchFailure) {
        // They are spliced into SQL literals by the backlog writer: keep them plain.
        let plain = { (text: String) in !text.isEmpty && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 } }
        guard plain(prefix), plain(location) else { throw .usage("--prefix and --location take a-z, 0-9 and '-' only") }
        guard count > 0, count < 10_000_000 else { throw .usage("--rows must be between 1 and 9999999") }
        self.prefix = prefix
        self.location = location
        self.count = count
        self.initial = initial
    }

    init(_ arguments: inout BenchArguments) throws(BenchFailure) {
        try self.init(
            prefix: try arguments.string("prefix"), location: try arguments.string("location"),
            count: try arguments.int("rows"), initial: Int64(try arguments.int("initial", default: 1_000_000)))
    }

    func sku(_ index: Int) -> String {
        let number = String(index)
        return prefix + String(repeating: "0", count: max(0, RowSet.digits - number.count)) + number
    }

    var first: String { sku(0) }
    var last: String { sku(count - 1) }

    /// The sum of the rows' `on_hand` after `updates` decrements.
    func expectedSum(updates: Int) -> Int64 {
        initial * Int64(count) - Int64(updates)
    }

    /// Parameters $1...$3 of the statements below: the key range and the location.
    var rangeParameters: [String?] { [first, last, location] }

    /// $4: where the index starts in the SKU (1-based, for substr).
    var indexOffset: String { String(prefix.count + 1) }

    static let insertRows = """
        INSERT INTO retail.stock (sku, location, on_hand, reserved)
        SELECT $1 || lpad(g::text, 7, '0'), $2, $3::bigint, 0 FROM generate_series(0, $4::int - 1) AS g
        """

    static let countAndSum = """
        SELECT count(*)::text, coalesce(sum(on_hand), 0)::text FROM retail.stock
        WHERE sku >= $1 AND sku <= $2 AND location = $3
        """

    /// The first row (in key order, from $1) that does not yet hold its expected value.
    /// $4 index offset, $5 initial, $6 updates, $7 rows.
    static let firstUnfinished = """
        SELECT sku FROM retail.stock
        WHERE sku >= $1 AND sku <= $2 AND location = $3
          AND on_hand <> $5::bigint - ($6::bigint / $7::bigint
              + CASE WHEN substr(sku, $4::int)::bigint < $6::bigint % $7::bigint THEN 1 ELSE 0 END)
        ORDER BY sku
        LIMIT 1
        """

    /// Per row: its index and the commit time (µs since the epoch) of the transaction that last wrote it.
    static let commitTimes = """
        SELECT substr(sku, $4::int), (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint::text
        FROM retail.stock
        WHERE sku >= $1 AND sku <= $2 AND location = $3
        """

    static let decrement = "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = $1 AND location = $2"

    /// The SQL literal text of one decrement (the backlog writer sends many in one string).
    func decrementLiteral(_ index: Int) -> String {
        "UPDATE retail.stock SET on_hand = on_hand - 1 WHERE sku = '\(sku(index))' AND location = '\(location)';"
    }
}
