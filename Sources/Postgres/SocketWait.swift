import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Blocks the calling thread in `poll()` until a socket is ready, a wake-up descriptor becomes
/// readable, or a deadline passes. Never busy-polls; retries on EINTR.
enum SocketWait {
    enum Outcome: Equatable {
        case ready
        case woken
        case timedOut
    }

    /// - Parameters:
    ///   - fd: the socket; a negative value waits for `wake` or the deadline only.
    ///   - events: `POLLIN` or `POLLOUT`.
    ///   - wake: a descriptor whose readability means "stop waiting"; negative for none.
    static func wait(fd: Int32, events: Int16, wake: Int32, deadline: ContinuousClock.Instant?) -> Outcome {
        var fds = [
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            pollfd(fd: fd, events: events, revents: 0),
        ]
        while true {
            // Even past the deadline, poll once without waiting: a pending wake-up must be seen.
            let timeout = deadline.map { milliseconds(roundingUp: ContinuousClock.now.duration(to: $0)) } ?? -1
            let count = poll(&fds, nfds_t(fds.count), timeout)
            if count < 0 {
                if errno == EINTR { continue }
                // Let the caller's next libpq call report what is wrong with the socket.
                return .ready
            }
            if fds[0].revents != 0 { return .woken }
            if fds[1].revents != 0 { return .ready }
            if let deadline, ContinuousClock.now >= deadline { return .timedOut }
        }
    }

    private static func milliseconds(roundingUp duration: Duration) -> Int32 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}
