import Postgres

/// Deletes outbox records that every target has received.
///
/// Each daemon writes, into the source's `omnisync.delivery_acks`, what each of its targets has
/// received (from the cursors stored at the targets), and prunes below the least acknowledged
/// position of *every* target any daemon ever acknowledged — so a second daemon serving other
/// sites never loses changes its sites still need. Until every configured target has a cursor,
/// nothing is pruned: a site that was never reached keeps the whole outbox for its first sync
/// (which starts with a full copy of the states anyway).
enum OutboxPruner {
    static let acknowledge = """
        INSERT INTO omnisync.delivery_acks (target_site, done_xmin)
        SELECT u.target, u.xmin::xid8 FROM unnest($1::text[], $2::text[]) AS u(target, xmin)
        ON CONFLICT (target_site) DO UPDATE SET done_xmin = greatest(omnisync.delivery_acks.done_xmin, excluded.done_xmin),
            updated_at = now()
        """
    static let prune = """
        DELETE FROM omnisync.outbox
        WHERE txid < (SELECT min(done_xmin) FROM omnisync.delivery_acks)
          AND NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS t(site)
                          WHERE t.site NOT IN (SELECT target_site FROM omnisync.delivery_acks))
        """

    /// Acknowledges `positions` (target → xmin of its done snapshot) and prunes; returns the
    /// number of records deleted.
    static func run(_ connection: some StatementRunner, positions: [String: String]) throws(PostgresError) -> Int {
        let targets = positions.keys.sorted()
        guard !targets.isEmpty else { return 0 }
        _ = try connection.query(
            acknowledge, [PostgresArray.literal(targets), PostgresArray.literal(targets.map { positions[$0] })],
            label: "acknowledge deliveries")
        return try connection.query(prune, [PostgresArray.literal(targets)], label: "prune outbox").affectedRows
    }
}
