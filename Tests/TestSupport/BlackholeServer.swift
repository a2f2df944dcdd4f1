import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP port on 127.0.0.1 that looks like a site behind a dead link or a hung server: it takes
/// connections and never says a word. `.listening` never accepts (the kernel completes the
/// handshake for the first connections, then drops the rest); `.accepting` accepts every
/// connection and keeps it open in silence.
public final class BlackholeServer: Sendable {
    public enum Mode: Sendable {
        case listening
        case accepting
    }

    public let port: UInt16
    public let mode: Mode
    private let listener: Int32
    private let wake: (read: Int32, write: Int32)
    private let accepted = Connections()
    private let finished = DispatchSemaphore(value: 0)

    public init(_ mode: Mode) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && listen(fd, 16) == 0
                    && getsockname(fd, socketAddress, &length) == 0
            }
        }
        var fds: [Int32] = [-1, -1]
        guard bound, pipe(&fds) == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        self.listener = fd
        self.mode = mode
        self.wake = (fds[0], fds[1])
        port = UInt16(bigEndian: address.sin_port)
        if mode == .accepting {
            let (listener, wakeRead, accepted, finished) = (fd, fds[0], accepted, finished)
            Thread {
                Self.acceptLoop(listener: listener, wake: wakeRead, accepted: accepted)
                finished.signal()
            }.start()
        } else {
            finished.signal()
        }
    }

    deinit {
        _ = write(wake.write, "x", 1)
        finished.wait()
        for fd in accepted.fds.withLock({ $0 }) { close(fd) }
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    /// A libpq conninfo for the port, as an operator would write it (TLS and all left at libpq's defaults).
    public var conninfo: String {
        "host=127.0.0.1 port=\(port) user=omnisync dbname=pos"
    }

    /// Connections accepted so far (`.accepting`).
    public var acceptedCount: Int { accepted.fds.withLock { $0.count } }

    private final class Connections: Sendable {
        let fds = Mutex<[Int32]>([])
    }

    private static func acceptLoop(listener: Int32, wake: Int32, accepted: Connections) {
        var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            if fds[1].revents != 0 {
                let client = accept(listener, nil, nil)
                if client >= 0 { accepted.fds.withLock { $0.append(client) } }
            }
        }
    }
}
