import Catalog

/// The one place that decides which sites receive a row (CONTRACT §8): links, first copies,
/// shared pages, pruning and `verify` all ask it, so they cannot disagree.
///
/// Pure: it knows the sites (hubs, locations) and is told a row's place, its writers and who
/// follows what. Finding a row's recipients costs what they are, not the number of sites: hubs,
/// locations and follows are indexed.
public struct Router: Sendable, Equatable {
    /// Every site, in configuration order.
    public let sites: [String]
    private let hubs: Set<String>
    private let sitesByLocation: [String: Set<String>]
    private let order: [String: Int]

    public init(sites: [SiteConfig]) {
        self.sites = sites.map(\.name)
        hubs = Set(sites.filter(\.isHub).map(\.name))
        var byLocation: [String: Set<String>] = [:]
        for site in sites {
            for location in site.locations { byLocation[location, default: []].insert(site.name) }
        }
        sitesByLocation = byLocation
        order = Dictionary(sites.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    /// The place of a row of a table with this route, from the row's values of the route's
    /// columns (``Route/columns``, in order; `nil` for NULL). A `with` route's place is its
    /// parent's: ask ``RoutedRow/child(of:writers:)`` instead.
    public static func place(route: Route, values: [String?]) -> RowPlace {
        switch route {
        case .all: .everywhere
        case .location: .location(values.first ?? nil)
        case .follow(let namespace, _): .followed(namespace: namespace, value: values.first ?? nil)
        case .with: .parentUnknown
        }
    }

    public func isHub(_ site: String) -> Bool { hubs.contains(site) }

    /// Whether some site is a hub.
    public var hasHubs: Bool { !hubs.isEmpty }

    /// Whether changes travel from `source` to `target` over a link of their own: every pair of
    /// sites without hubs; with hubs, only pairs with a hub in them — the hubs relay the rest.
    public func links(_ source: String, to target: String) -> Bool {
        source != target && (hubs.isEmpty || hubs.contains(source) || hubs.contains(target))
    }

    /// Whether `site` receives the row.
    public func receives(_ site: String, _ row: RoutedRow, follows: FollowIndex) -> Bool {
        guard order[site] != nil else { return false }
        if row.writers.contains(site) || hubs.contains(site) { return true }
        switch row.place {
        case .everywhere:
            return true
        case .location(let location):
            return location.map { sitesByLocation[$0]?.contains(site) ?? false } ?? false
        case .followed(let namespace, let value):
            return value.map { follows.follows(site: site, namespace: namespace, value: $0) } ?? false
        case .parentUnknown:
            return false
        }
    }

    /// Every site that receives the row, in configuration order. Writers that are not (or no
    /// longer) configured sites are left out.
    public func recipients(of row: RoutedRow, follows: FollowIndex) -> [String] {
        var chosen = hubs.union(row.writers)
        switch row.place {
        case .everywhere:
            return sites
        case .location(let location):
            if let location, let selling = sitesByLocation[location] { chosen.formUnion(selling) }
        case .followed(let namespace, let value):
            if let value { chosen.formUnion(follows.followers(namespace: namespace, value: value)) }
        case .parentUnknown:
            break
        }
        return chosen.compactMap { name in order[name].map { (name, $0) } }.sorted { $0.1 < $1.1 }.map(\.0)
    }
}
