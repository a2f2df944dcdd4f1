import Catalog
import MergeCore

/// Each target's share of a page read from a source (CONTRACT §8), decided by the ``Router``:
/// a source's page is read once, and every link keeps what its target is routed.
///
/// A row routed away from the target is not dropped outright: the target may have written it
/// (a store selling another location's stock), and a site where a row was written keeps
/// receiving it. Whether it did, only the target knows — the source's state may not name the
/// target yet, when the target's write has not reached it — so such a row travels as *held
/// only*: the target applies it if it already holds the row's state, and passes over it
/// otherwise, which counts as delivered, so the cursor moves and the outbox is pruned.
///
/// One case needs more: a site that writes a row outside its routes for the first time has
/// missed what others wrote before (it did not hold the row then). So a row arriving from a
/// source that is not routed the row is marked *return if ahead*: when the target's join holds
/// more than the source sent, the target records the row in its own outbox again, and its link
/// back to the source delivers it, now held there.
///
/// A follow route's place depends on what each site follows. For the target it is decided where
/// the target's follows are, in the apply's own transaction (``ChangeBatch/followed``): a row
/// arrives held only, and is taken in if the target follows its value, so an apply and an
/// unfollow's removal never cross. A row routed away while its value was not followed yet is
/// brought by the link's first copy of the follow (`FollowBook`).
///
/// With hubs, two sites that are not hubs have no link: a hub relays what it learns from one to
/// the others who need it (`RelayRule`). A hub receives every row from every site, so its state
/// names every writer of a row, sooner or later: its share for a site is decided at the hub, by
/// the row's writers, with no question to the site. A row only the site wrote is not sent back
/// to it; a row it wrote with others travels held only; any other row not routed to it stays at
/// the hub. A site whose first write of a row reaches the hub after others' changes gets them
/// then: the hub's join changes, the row is relayed, and its writers now name the site.
struct RouteShares: Sendable {
    let router: Router
    /// Routes other than `all`, by table id; a table not here goes everywhere.
    private let routes: [Int: Route]
    /// Some table is routed by what sites follow: links keep up with their targets' follows.
    let hasFollowRoutes: Bool

    init(router: Router, catalog: TableCatalog) {
        self.router = router
        var routes: [Int: Route] = [:]
        for table in catalog.tables where table.route != .all {
            routes[Int(table.id.rawValue)] = table.route
        }
        self.routes = routes
        hasFollowRoutes = routes.values.contains { if case .follow = $0 { true } else { false } }
    }

    /// Every table goes everywhere: shares are the whole page.
    var isEverywhere: Bool { routes.isEmpty }

    /// The tables routed by a follow of `namespace`, each with the index of its route column in
    /// its key (the rows a new follow of a value brings, or an unfollow takes away).
    func followed(namespace: String, tables: GeneratedTables) -> [(tableID: Int, keyColumn: Int)] {
        routes.keys.sorted().compactMap { id in
            guard case .follow(namespace, let column) = routes[id], let table = tables.applier(id)?.table,
                let index = table.key.firstIndex(where: { $0.name == column })
            else { return nil }
            return (id, index)
        }
    }

    /// v1's tables routed by a follow of `namespace`, each with the index of its route column in
    /// its key.
    func followedRetailTables(namespace: String) -> [(table: ReplicatedTable, keyColumn: Int)] {
        ReplicatedTable.allCases.compactMap { table in
            guard case .follow(namespace, let column) = routes[table.rawValue],
                let index = table.keyColumns.firstIndex(of: column.name)
            else { return nil }
            return (table, index)
        }
    }

    /// Where a row of a generated table belongs, from its key.
    func place(tableID: Int, key: [String], table: CaptureTable) -> RowPlace {
        guard let route = routes[tableID] else { return .everywhere }
        let values: [String?] = route.columns.map { column in
            table.key.firstIndex { $0.name == column }.flatMap { $0 < key.count ? key[$0] : nil }
        }
        return Router.place(route: route, values: values)
    }

    /// Where a row of one of v1's tables belongs, from its key (`retail.stock` by location).
    func place(_ table: ReplicatedTable, key: RowKey) -> RowPlace {
        guard let route = routes[table.rawValue] else { return .everywhere }
        let parts = [key.k1] + (key.k2.map { [$0] } ?? [])
        let values: [String?] = route.columns.map { column in
            table.keyColumns.firstIndex(of: column.name).flatMap { $0 < parts.count ? parts[$0] : nil }
        }
        return Router.place(route: route, values: values)
    }

    /// Whether `site` is routed a row of one of v1's tables by its place alone.
    func routesByPlace(_ site: String, table: ReplicatedTable, key: RowKey, follows: FollowIndex = FollowIndex()) -> Bool {
        router.receives(site, RoutedRow(place: place(table, key: key)), follows: follows)
    }

    /// Whether `site` is routed the row by its place alone (a hub, a site of its location, a site
    /// that follows its value in `follows`), leaving out what it wrote.
    func routesByPlace(
        _ site: String, tableID: Int, key: [String], table: CaptureTable, follows: FollowIndex = FollowIndex()
    ) -> Bool {
        router.receives(site, RoutedRow(place: place(tableID: tableID, key: key, table: table)), follows: follows)
    }

    /// Whether the daemon links `source` to `target` (``Router/links(_:to:)``).
    func links(_ source: String, to target: String) -> Bool { router.links(source, to: target) }

    /// Whether a batch from `source` applied at `target` is relayed by it (`ChangeBatch.relay`).
    func relays(from source: String, to target: String) -> Bool {
        router.isHub(target) && !router.isHub(source)
    }

    /// The sites that wrote a row, as its state says.
    static func writers(_ state: RowState) -> Set<String> {
        switch state {
        case .counter(let row): Set(row.clock.sites)
        case .record(let record): [record.stamp.site]
        }
    }

    /// The sites that wrote a row of a generated table, from its encoded state (`sites`, the
    /// second field of every format).
    static func writers(_ fields: [StateField]) -> Set<String>? {
        guard fields.count > 1, case .texts(let sites) = fields[1] else { return nil }
        return Set(sites ?? [])
    }

    /// What a hub sends a site that is not one, by the row's place and writers: `nil` when the
    /// row stays at the hub, otherwise whether it travels held only.
    private func fromHub(
        to target: String, place: RowPlace, writers: Set<String>?, targetFollows: FollowIndex
    ) -> (heldOnly: Bool, followed: Bool)? {
        if let writers, writers == [target] { return nil }
        if router.receives(target, RoutedRow(place: place), follows: FollowIndex()) { return (false, false) }
        if let writers, !writers.contains(target) {
            // Not its row: only a follow the daemon may not have read yet brings it, and the site
            // decides that in the apply's transaction.
            guard case .followed(let namespace, let value?) = place,
                targetFollows.follows(site: target, namespace: namespace, value: value)
            else { return nil }
            return (true, true)
        }
        return (true, true)
    }

    /// The part of `batch`, read from `source`, that goes to `target`; `sourceFollows` is what the
    /// source follows, as last read (a stale one returns a row needlessly, never misses one), and
    /// `targetFollows` what the target follows, as last read (used only from a hub, where a
    /// follow too new to be read is brought by the follow's first copy).
    func share(
        of batch: ChangeBatch, from source: String, to target: String, tables: GeneratedTables,
        sourceFollows: FollowIndex = FollowIndex(), targetFollows: FollowIndex = FollowIndex()
    ) -> ChangeBatch {
        if router.isHub(source), !router.isHub(target) {
            return shareFromHub(of: batch, to: target, tables: tables, targetFollows: targetFollows)
        }
        var share = batch
        share.relay = relays(from: source, to: target) ? RelayRule(routes: self, source: source) : nil
        guard !isEverywhere else { return share }
        for (table, states) in batch.states where routes[table.rawValue] != nil {
            var heldOnly = Set<RowKey>()
            var returnIfAhead = Set<RowKey>()
            for key in states.keys {
                let row = RoutedRow(place: place(table, key: key))
                if !router.receives(target, row, follows: FollowIndex()) { heldOnly.insert(key) }
                if !router.receives(source, row, follows: sourceFollows) { returnIfAhead.insert(key) }
            }
            share.heldOnlyRows[table] = heldOnly.isEmpty ? nil : heldOnly
            share.returnIfAheadRows[table] = returnIfAhead.isEmpty ? nil : returnIfAhead
            if case .follow(let namespace, let column) = routes[table.rawValue], !heldOnly.isEmpty,
                let index = table.keyColumns.firstIndex(of: column.name)
            {
                share.followedRows[table] = FollowedRoute(namespace: namespace, keyColumn: index)
            }
        }
        for (id, states) in batch.declared where routes[id] != nil {
            guard let table = tables.applier(id)?.table else { continue }
            var heldOnly = Set<[String]>()
            var returnIfAhead = Set<[String]>()
            for key in states.keys {
                let row = RoutedRow(place: place(tableID: id, key: key, table: table))
                if !router.receives(target, row, follows: FollowIndex()) { heldOnly.insert(key) }
                if !router.receives(source, row, follows: sourceFollows) { returnIfAhead.insert(key) }
            }
            share.heldOnly[id] = heldOnly.isEmpty ? nil : heldOnly
            share.returnIfAhead[id] = returnIfAhead.isEmpty ? nil : returnIfAhead
            if case .follow(let namespace, let column) = routes[id], !heldOnly.isEmpty,
                let index = table.key.firstIndex(where: { $0.name == column })
            {
                share.followed[id] = FollowedRoute(namespace: namespace, keyColumn: index)
            }
        }
        return share
    }

    /// One table's rows as the hub shares them with `target`: those it sends, those of them held
    /// only, and whether a follow decides some of them.
    private func fromHub<Key: Hashable, State>(
        _ states: [Key: State], to target: String, targetFollows: FollowIndex, place: (Key) -> RowPlace,
        writers: (State) -> Set<String>?
    ) -> (kept: [Key: State], heldOnly: Set<Key>, followed: Bool) {
        var kept = states
        var heldOnly = Set<Key>()
        var followed = false
        for (key, state) in states {
            guard let decision = fromHub(to: target, place: place(key), writers: writers(state), targetFollows: targetFollows)
            else {
                kept[key] = nil
                continue
            }
            if decision.heldOnly { heldOnly.insert(key) }
            followed = followed || decision.followed
        }
        return (kept, heldOnly, followed)
    }

    private func shareFromHub(
        of batch: ChangeBatch, to target: String, tables: GeneratedTables, targetFollows: FollowIndex
    ) -> ChangeBatch {
        var share = batch
        for (table, states) in batch.states {
            let (kept, heldOnly, followed) = fromHub(
                states, to: target, targetFollows: targetFollows, place: { place(table, key: $0) }, writers: Self.writers)
            share.states[table] = kept.isEmpty ? nil : kept
            share.heldOnlyRows[table] = heldOnly.isEmpty ? nil : heldOnly
            if followed, case .follow(let namespace, let column) = routes[table.rawValue],
                let index = table.keyColumns.firstIndex(of: column.name)
            {
                share.followedRows[table] = FollowedRoute(namespace: namespace, keyColumn: index)
            }
        }
        for (id, states) in batch.declared {
            guard let table = tables.applier(id)?.table else { continue }
            let (kept, heldOnly, followed) = fromHub(
                states, to: target, targetFollows: targetFollows, place: { place(tableID: id, key: $0, table: table) },
                writers: Self.writers)
            share.declared[id] = kept.isEmpty ? nil : kept
            share.heldOnly[id] = heldOnly.isEmpty ? nil : heldOnly
            if followed, case .follow(let namespace, let column) = routes[id],
                let index = table.key.firstIndex(where: { $0.name == column })
            {
                share.followed[id] = FollowedRoute(namespace: namespace, keyColumn: index)
            }
        }
        return share
    }
}
