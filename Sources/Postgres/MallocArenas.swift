import CLibPQ

/// Every connection runs on a thread of its own (`ThreadExecutor`), and glibc gives each thread
/// that allocates a malloc arena of its own, up to eight per core. A process whose threads
/// mostly wait on sockets needs few: call this once at start, before those threads exist.
public enum MallocArenas {
    public static func limit(to arenas: Int32) {
        omnisync_limit_malloc_arenas(arenas)
    }
}
