import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`: a daemon started with
/// `NOTIFY_SOCKET=path` sends its `READY=1`, `STATUS=…` and other messages here, in order.
public final class NotifySocket {
    public let path: String
    private let descriptor: Int32
    /// Every message received so far, oldest first.
    public private(set) var received: [String] = []
    private var consumed = 0

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init() throws {
        path = NSTemporaryDirectory() + "omnisync-notify-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "bind \(path): \(message)")
        }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Waits for the next message not yet returned whose text satisfies `matches`, skipping
    /// others; nil after `timeout` seconds.
    public func next(timeout: Double = 10, where matches: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while consumed < received.count {
                let message = received[consumed]
                consumed += 1
                if matches(message) { return message }
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, let message = receive(timeout: remaining) else { return nil }
            received.append(message)
        }
    }

    /// The next message that is exactly `text` or starts with `text` followed by a newline
    /// (`RELOADING=1` comes with `MONOTONIC_USEC=`).
    public func next(_ text: String, timeout: Double = 10) -> String? {
        next(timeout: timeout) { $0 == text || $0.hasPrefix(text + "\n") }
    }

    private func receive(timeout: Double) -> String? {
        var descriptorState = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(1, min(timeout * 1000, Double(Int32.max))))
        var ready: Int32
        repeat {
            ready = poll(&descriptorState, 1, milliseconds)
        } while ready < 0 && errno == EINTR
        guard ready == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
