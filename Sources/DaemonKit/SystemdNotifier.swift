#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Tells systemd about the service's state (`Type=notify`), speaking the `sd_notify` protocol
/// directly: one datagram of `KEY=VALUE` lines to the socket named by `$NOTIFY_SOCKET`.
///
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing. Failures are
/// reported as `false` and otherwise ignored: the service works the same without a supervisor.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading `@` names the abstract namespace.
    public let socketPath: String?
    /// How often systemd expects ``watchdog()``, when the watchdog is enabled for this process.
    /// Ping at about half of it.
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        processID: Int32 = getpid()
    ) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        socketPath = path.isEmpty ? nil : path
        watchdogInterval = Self.watchdogInterval(environment: environment, processID: processID)
    }

    public var isEnabled: Bool { socketPath != nil }

    /// `READY=1`: startup is complete.
    @discardableResult
    public func ready() -> Bool {
        send("READY=1")
    }

    /// `STATUS=…`: a one-line state shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) -> Bool {
        let oneLine = text.map { $0.isNewline ? " " : $0 }
        return send("STATUS=" + String(oneLine))
    }

    /// `WATCHDOG=1`: still alive.
    @discardableResult
    public func watchdog() -> Bool {
        send("WATCHDOG=1")
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC` that `Type=notify-reload` requires; send
    /// ``ready()`` when the reload is done.
    @discardableResult
    public func reloading() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        return send("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult
    public func stopping() -> Bool {
        send("STOPPING=1")
    }

    /// Sends `raw` (newline-separated `KEY=VALUE` assignments) as one datagram.
    @discardableResult
    public func send(_ raw: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A filesystem path needs room for its terminating NUL; an abstract name does not.
        guard pathBytes.count + (abstract ? 0 : 1) <= capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let length = socklen_t(pathOffset + pathBytes.count + (abstract ? 0 : 1))

        #if canImport(Glibc)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let descriptor = socket(AF_UNIX, SOCK_DGRAM, 0)
        let flags: Int32 = 0
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let payload = Array(raw.utf8)
        let sent = payload.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(descriptor, bytes.baseAddress, bytes.count, flags, socketAddress, length)
                }
            }
        }
        return sent == payload.count
    }

    private static func watchdogInterval(environment: [String: String], processID: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty, Int32(owner) != processID {
            return nil
        }
        return .microseconds(Int64(clamping: microseconds))
    }
}
