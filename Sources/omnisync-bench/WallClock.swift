#if canImport(Glibc)
    import Glibc
#endif

/// Clock readings the measurements use. Wall-clock microseconds are comparable with PostgreSQL's
/// commit timestamps (both read CLOCK_REALTIME on this machine); the monotonic clock paces writers.
enum WallClock {
    static func micros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    static func monotonicNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Sleeps until the monotonic clock reaches `deadline` (returns at once if it has).
    static func sleep(untilMonotonicNanos deadline: Int64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }

    static func sleep(seconds: Double) {
        sleep(untilMonotonicNanos: monotonicNanos() + Int64(seconds * 1e9))
    }

    /// CPU seconds (user + system) this process has used so far.
    static func processCPUSeconds() -> Double {
        var used = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used)
        return Double(used.tv_sec) + Double(used.tv_nsec) / 1e9
    }
}
