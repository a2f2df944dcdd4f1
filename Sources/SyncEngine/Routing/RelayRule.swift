import Catalog

/// Which rows a hub relays (`ChangeBatch.relay`): a batch from `source`, a site that is not a
/// hub, applied at a hub records again each row whose state the join changed and that a site
/// other than the hubs and the source may need.
///
/// Only a row routed by location is decided here, from the configuration and the writers of the
/// merged state, which the hub learns in the same transaction: a store's sale of its own stock
/// goes no further than the hub. A row routed everywhere, by a follow (a follow the daemon has
/// not read yet must not miss a change) or with a parent is always relayed.
struct RelayRule: Sendable {
    let routes: RouteShares
    let source: String

    /// For a row of one of v1's tables.
    func relays(_ table: ReplicatedTable, key: RowKey, writers: Set<String>) -> Bool {
        needed(place: routes.place(table, key: key), writers: writers)
    }

    /// For a row of a generated table.
    func relays(tableID: Int, key: [String], table: CaptureTable, writers: Set<String>) -> Bool {
        needed(place: routes.place(tableID: tableID, key: key, table: table), writers: writers)
    }

    private func needed(place: RowPlace, writers: Set<String>) -> Bool {
        guard case .location = place else { return true }
        let router = routes.router
        return router.recipients(of: RoutedRow(place: place, writers: writers), follows: FollowIndex())
            .contains { !router.isHub($0) && $0 != source }
    }
}
