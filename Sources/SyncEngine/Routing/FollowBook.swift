import Postgres
import Synchronization

/// What one site follows (`omnisync.follows`, schema/0009), as last read from it, shared by the
/// links into the site. A notification `follow` from the site, or a new connection to it, makes
/// it stale; the next link into the site to run reads it again.
final class FollowBook: Sendable {
    struct Follow: Sendable, Hashable {
        /// A new follow of a value gets a new id: links copy the rows of the follows above the id
        /// they copied last (`omnisync.cursors.follows_copied`).
        let id: Int64
        let namespace: String
        let value: String
    }

    /// The follows in force, and those unfollowed whose rows are still to be taken away.
    struct View: Sendable {
        var follows: [Follow] = []
        var unfollowed: [Follow] = []
        var index = FollowIndex()
        var maxID: Int64 = 0
    }

    private struct State {
        var generation: UInt64 = 1
        var readGeneration: UInt64 = 0
        var view = View()
    }

    private let site: String
    private let state = Mutex(State())

    init(site: String) {
        self.site = site
    }

    /// The site's follows may have changed.
    func invalidate() {
        state.withLock { $0.generation &+= 1 }
    }

    var generation: UInt64 { state.withLock { $0.generation } }

    /// The view as last read, whether or not it is still fresh.
    var current: View { state.withLock { $0.view } }

    /// The view, if nothing has made it stale since it was read.
    var fresh: View? { state.withLock { $0.readGeneration == $0.generation ? $0.view : nil } }

    /// Keeps what a read begun in `generation` found (a newer generation stays stale).
    func store(follows: [Follow], unfollowed: [Follow], generation: UInt64) {
        var view = View(follows: follows, unfollowed: unfollowed, maxID: follows.map(\.id).max() ?? 0)
        view.index.follow(site: site, all: follows)
        state.withLock { state in
            state.view = view
            if generation > state.readGeneration { state.readGeneration = generation }
        }
    }

    static let query = "SELECT id::text, namespace, value, unfollowed_at IS NOT NULL FROM omnisync.follows ORDER BY id"

    /// The site's follows in force and those unfollowed.
    static func read(_ connection: some StatementRunner) throws(PostgresError) -> (follows: [Follow], unfollowed: [Follow]) {
        var follows: [Follow] = [], unfollowed: [Follow] = []
        for row in try connection.query(query, label: "read follows").rows {
            guard let id = row[0].flatMap({ Int64($0) }), let namespace = row[1], let value = row[2] else { continue }
            let follow = Follow(id: id, namespace: namespace, value: value)
            if row[3] == "t" { unfollowed.append(follow) } else { follows.append(follow) }
        }
        return (follows, unfollowed)
    }

    /// Which of the values `$2` (a text array) of namespace `$1` the site follows.
    static let followedValues =
        "SELECT value FROM omnisync.follows WHERE namespace = $1 AND value = ANY($2::text[]) AND unfollowed_at IS NULL"

    /// Which of `values` of `namespace` the site behind `connection` follows now (a row routed
    /// away by its place may be routed here by a follow after all).
    static func followed(
        _ connection: some StatementRunner, namespace: String, values: Set<String>
    ) throws(PostgresError) -> Set<String> {
        guard !values.isEmpty else { return [] }
        let result = try connection.query(
            followedValues, [namespace, PostgresArray.literal(values.sorted().map { Optional($0) })],
            label: "read followed values")
        return Set(result.rows.compactMap { $0[0] })
    }

    /// An unfollow whose rows are gone: forgotten (a follow of the value since then is kept).
    static let forget = "DELETE FROM omnisync.follows WHERE id = $1::bigint AND unfollowed_at IS NOT NULL"

    /// How far the rows of `source` were copied for this site's follows.
    static let selectCopied = "SELECT follows_copied::text FROM omnisync.cursors WHERE source_site = $1"
    static let storeCopied =
        "UPDATE omnisync.cursors SET follows_copied = greatest(follows_copied, $2::bigint) WHERE source_site = $1"
}
