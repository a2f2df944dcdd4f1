/// How far one source site's outbox has been applied at one target, stored in the target's
/// `omnisync.cursors` in the same transaction as the changes it covers.
///
/// Every outbox record whose transaction is visible in `done` has been applied; so has every
/// record visible in `window` (but not in `done`) up to `(windowTxid, windowID)`. Reading by
/// snapshot visibility rather than by id means a transaction that commits after a
/// later-numbered one is still delivered.
struct LinkCursor: Equatable, Sendable, CustomStringConvertible {
    var done: String
    var window: String?
    var windowTxid: String?
    var windowID: Int64?

    /// Before anything: no transaction is visible yet.
    static let origin = LinkCursor(done: "1:1:")

    var description: String {
        guard let window else { return "done=\(done)" }
        return "done=\(done) window=\(window) at=\(windowTxid ?? "0")/\(windowID ?? 0)"
    }

    /// The oldest transaction id that may still be undelivered; older records can be pruned.
    var doneXmin: String {
        String(done.prefix { $0 != ":" })
    }
}
