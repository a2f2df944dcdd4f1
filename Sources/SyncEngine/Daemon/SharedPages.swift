import Synchronization

/// The outbox pages last read from one source site, so that its other links, standing at the
/// same cursor, take them instead of reading them again. Targets usually follow a source in
/// step, so with N sites a change is read once instead of N−1 times.
///
/// A page is only as fresh as its read: every event that may mean new changes at the source (a
/// notification, a reconnect, a safety poll that saw its snapshot move) starts a new generation,
/// and pages of an older generation are not handed out. A link woken by that event therefore
/// reads again rather than stopping at a page that ends before the change it was woken for.
final class SharedPages: Sendable {
    private struct Entry {
        let cursor: LinkCursor
        let limit: Int
        let page: ChangePage
        var takes = 0
    }

    private struct State {
        var generation: UInt64 = 0
        var entries: [Entry] = []
        var reads = 0
        var shared = 0
    }

    /// Links in step read the same page within moments; one more page covers a link a page behind.
    static let capacity = 2

    /// How many links read this source: a page every other link has taken is dropped at once.
    private let readers: Int
    private let state = Mutex(State())

    init(readers: Int) {
        self.readers = readers
    }

    /// The source may have new changes: pages read so far are not the newest any more.
    func invalidate() {
        state.withLock {
            $0.generation &+= 1
            $0.entries.removeAll()
        }
    }

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Pages read from the source, and pages handed to a link without reading (metrics).
    var counts: (reads: Int, shared: Int) { state.withLock { ($0.reads, $0.shared) } }

    /// The page read for `cursor` in the current generation, if any.
    func page(after cursor: LinkCursor, limit: Int) -> ChangePage? {
        state.withLock { state in
            guard let index = state.entries.lastIndex(where: { $0.cursor == cursor && $0.limit == limit }) else {
                return nil
            }
            state.shared += 1
            let page = state.entries[index].page
            state.entries[index].takes += 1
            if state.entries[index].takes >= readers - 1 { state.entries.remove(at: index) }
            return page
        }
    }

    /// Keeps a page read in `generation` (ignored if a newer generation began meanwhile).
    func store(_ page: ChangePage, after cursor: LinkCursor, limit: Int, generation: UInt64) {
        state.withLock { state in
            state.reads += 1
            guard state.generation == generation, readers > 1 else { return }
            state.entries.removeAll { $0.cursor == cursor && $0.limit == limit }
            state.entries.append(Entry(cursor: cursor, limit: limit, page: page))
            if state.entries.count > Self.capacity { state.entries.removeFirst(state.entries.count - Self.capacity) }
        }
    }
}
