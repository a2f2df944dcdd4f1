import Catalog
import Foundation
@testable import SyncEngine

/// The application's own tables in the soak (CONTRACT §6, docs/declaring-tables.md), created at
/// every site before `omnisync migrate` and declared in `[table]` sections:
/// - `pos.shelf`, a point of sale's shelf stock: a serial id beside a three-column natural key with
///   a camelCase column, a `numeric(12,3)` counter (with physical counts), a `lww` price, a
///   `greatest` high-water mark, a `status`, a `local` till note, add-wins deletes;
/// - `pos.ticket`, insert-only till tickets.
///
/// In a routed run (`SoakSettings.routed`) `pos.shelf` is routed by `"storeId"` (`ShelfRouting`).
enum SoakDeclared {
    static let schema = """
        CREATE SCHEMA pos;
        CREATE TABLE pos.shelf (
            id serial PRIMARY KEY,
            item text NOT NULL,
            "storeId" text NOT NULL,
            bin text NOT NULL,
            qty numeric(12,3) NOT NULL DEFAULT 0,
            price text,
            hi bigint,
            state text,
            note text DEFAULT 'kept at this till',
            UNIQUE (item, "storeId", bin)
        );
        CREATE TABLE pos.ticket (
            ticket_no text PRIMARY KEY,
            amount bigint NOT NULL,
            site text NOT NULL
        );
        """

    static let tables = tables(routed: false)

    static func tables(routed: Bool) -> String {
        """

        [table pos.shelf]
        key = item, "storeId", bin
        column.id = local
        column.qty = counter
        column.price = lww
        column.hi = greatest
        column.state = status(new, open, closed)
        column.note = local
        delete = add_wins\(routed ? "\nroute = location \"storeId\"" : "")

        [table pos.ticket]
        rows = insert_only
        \(routed ? "\n[table retail.loyalty]\nroute = follow customer customer_id\n[table retail.cart_items]\nroute = follow cart cart_id\n" : "")
        """
    }

    /// `pos.shelf.state`'s order, first to last.
    static let statuses = ["new", "open", "closed"]
    static let statusArray = "ARRAY['new', 'open', 'closed']::text[]"
    /// `qty` counts thousandths.
    static let scale = CounterScale(decimals: 3)
    /// What `note` holds in a row that arrived from another site.
    static let noteDefault = "kept at this till"

    /// Shelf keys, some with names that need quoting anywhere they are spliced.
    static let items = ["flour", "o'brien", "emoji-🧀"]
    static let storeIDs = ["Store 7", "St\"ore\\9"]
    static let bins = ["A1", "b\n2"]

    static var shelfKeys: [ShelfKey] {
        items.flatMap { item in storeIDs.flatMap { store in bins.map { ShelfKey(item: item, storeID: store, bin: $0) } } }
    }

    static func ticketTag(_ number: String) -> String {
        "pos.ticket|" + json([("ticket_no", number)])
    }

    /// A JSON object of text values in the given order, written as `omnisync verify` and the
    /// conflict log's reader write a declared table's key (no spaces).
    static func json(_ pairs: [(String, String)]) -> String {
        JSONText.object(pairs.map { ($0.0, JSONText.quote($0.1)) })
    }

    /// The tag of a row of a declared table named in `omnisync.conflicts` (`table_name`, and
    /// `row_key` as jsonb text, whose keys PostgreSQL reorders); nil for another table.
    static func tag(table: String, key object: [String: Any]) -> String? {
        switch table {
        case "pos.shelf":
            guard let item = object["item"] as? String, let store = object["storeId"] as? String,
                let bin = object["bin"] as? String
            else { return nil }
            return ShelfKey(item: item, storeID: store, bin: bin).tag
        case "pos.ticket":
            return (object["ticket_no"] as? String).map(ticketTag)
        default:
            return nil
        }
    }

    static let readShelves = "SELECT item, \"storeId\", bin, qty::text, hi::text, state, price, note FROM pos.shelf"
    static let readTickets = "SELECT ticket_no, amount::text, site FROM pos.ticket"
}

/// Where `pos.shelf` rows go in a routed run (`route = location "storeId"`, CONTRACT §8): the
/// first site (web) is the hub, the second sells from `Store 7`, and the others sell from no shelf
/// location, so they hold only the shelves they write — and keep receiving those.
struct ShelfRouting: Sendable {
    let hub: String
    let locations: [String: Set<String>]

    init(sites: [String]) {
        hub = sites[0]
        locations = [sites[1]: ["Store 7"]]
    }

    /// The `[site]` keys that say so.
    var siteKeys: [String: String] {
        var keys = [hub: "hub = yes"]
        for (site, values) in locations { keys[site] = "locations = " + values.sorted().joined(separator: ", ") }
        return keys
    }

    /// Whether `site` is routed the row by its place (not counting what it wrote).
    func routes(_ site: String, _ key: ShelfKey) -> Bool {
        site == hub || locations[site]?.contains(key.storeID) == true
    }
}

/// The key of a `pos.shelf` row.
struct ShelfKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    let item: String
    let storeID: String
    let bin: String

    var parts: [String] { [item, storeID, bin] }
    var parameters: [String?] { [item, storeID, bin] }

    /// `pos.shelf|{"item":…,"storeId":…,"bin":…}`, as verify names the row.
    var tag: String {
        "pos.shelf|" + SoakDeclared.json([("item", item), ("storeId", storeID), ("bin", bin)])
    }

    var description: String { SoakDeclared.json([("item", item), ("storeId", storeID), ("bin", bin)]) }

    static func < (lhs: ShelfKey, rhs: ShelfKey) -> Bool {
        for (a, b) in zip(lhs.parts, rhs.parts) where a != b {
            return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
        return false
    }
}
