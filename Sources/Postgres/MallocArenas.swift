import CLibPQ

/// Every connection runs on a thread of its own (`ThreadExecutor`), and glibc gives each thread
/// that allocates a malloc arena of its own, up to eight per core, each keeping what it once
/// held. A process whose threads mostly wait on sockets needs few: call this once at start,
/// before those threads exist. (Measured with 20 sites: peak resident memory 52 → 46 MB.)
public enum MallocArenas {
    public static func limit(to arenas: Int32) {
        omnisync_limit_malloc_arenas(arenas)
    }
}
