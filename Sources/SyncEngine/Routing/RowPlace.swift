/// Where a row belongs, as its route decides (CONTRACT §8), read from its route columns. With the
/// sites that wrote it (``RoutedRow``), it is all the ``Router`` needs to know about a row.
public enum RowPlace: Sendable, Hashable {
    /// Route `all`: every site.
    case everywhere
    /// Route `location`: every hub and every site selling from this location. A NULL column
    /// (`nil`) names no location: hubs only.
    case location(String?)
    /// Route `follow`: every hub and every site following this value in the namespace. A NULL
    /// column (`nil`) cannot be followed: hubs only.
    case followed(namespace: String, value: String?)
    /// Route `with` whose parent row is not known yet where this is decided (a return before its
    /// order): every hub, until the parent is known and the row follows it.
    case parentUnknown
}

/// A row as the router sees it: where it belongs, and the sites that wrote it, which always
/// receive it whatever the route.
public struct RoutedRow: Sendable, Hashable {
    public var place: RowPlace
    public var writers: Set<String>

    public init(place: RowPlace, writers: Set<String> = []) {
        self.place = place
        self.writers = writers
    }

    /// A row of a table routed `with` a parent goes wherever the parent goes: the parent's place,
    /// and the writers of both. An unknown parent (`nil`) leaves the row at the hubs and its writers.
    public static func child(of parent: RoutedRow?, writers: Set<String>) -> RoutedRow {
        guard let parent else { return RoutedRow(place: .parentUnknown, writers: writers) }
        return RoutedRow(place: parent.place, writers: parent.writers.union(writers))
    }
}
