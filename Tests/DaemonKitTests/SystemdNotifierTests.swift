import DaemonKit
import Foundation
import XCTest

final class SystemdNotifierTests: XCTestCase {
    /// A datagram socket standing in for systemd's notification socket.
    final class Listener {
        let descriptor: Int32
        let path: String

        /// `name` starting with `@` binds in the abstract namespace.
        init(name: String) throws {
            path = name
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            guard descriptor >= 0 else { throw POSIXError(.EIO) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(name.utf8)
            let abstract = bytes.first == UInt8(ascii: "@")
            if abstract { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }

        deinit {
            close(descriptor)
            if !path.hasPrefix("@") { unlink(path) }
        }

        /// The next datagram, or `nil` after two seconds.
        func receive() -> String? {
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pollDescriptor, 1, 2000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count >= 0 else { return nil }
            return String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    func temporarySocketPath() -> String {
        NSTemporaryDirectory() + "omnisync-notify-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
    }

    func testSendsEachMessageToAPathSocket() throws {
        let listener = try Listener(name: temporarySocketPath())
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])
        XCTAssertTrue(notifier.isEnabled)

        XCTAssertTrue(notifier.ready())
        XCTAssertEqual(listener.receive(), "READY=1")
        XCTAssertTrue(notifier.status("syncing 3 sites\nsecond line"))
        XCTAssertEqual(listener.receive(), "STATUS=syncing 3 sites second line")
        XCTAssertTrue(notifier.watchdog())
        XCTAssertEqual(listener.receive(), "WATCHDOG=1")
        XCTAssertTrue(notifier.stopping())
        XCTAssertEqual(listener.receive(), "STOPPING=1")
        XCTAssertTrue(notifier.send("EXTEND_TIMEOUT_USEC=1000000"))
        XCTAssertEqual(listener.receive(), "EXTEND_TIMEOUT_USEC=1000000")

        XCTAssertTrue(notifier.reloading())
        let reloading = try XCTUnwrap(listener.receive())
        let lines = reloading.split(separator: "\n")
        XCTAssertEqual(lines.first, "RELOADING=1")
        XCTAssertEqual(lines.count, 2)
        let microseconds = try XCTUnwrap(UInt64(lines[1].dropFirst("MONOTONIC_USEC=".count)))
        XCTAssertTrue(lines[1].hasPrefix("MONOTONIC_USEC="))
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        XCTAssertLessThanOrEqual(microseconds, UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)
    }

    func testAbstractNamespaceSocket() throws {
        let listener = try Listener(name: "@omnisync-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])
        XCTAssertTrue(notifier.ready())
        XCTAssertEqual(listener.receive(), "READY=1")
    }

    func testDoesNothingWithoutNotifySocket() {
        let notifier = SystemdNotifier(environment: [:])
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertFalse(notifier.ready())
        XCTAssertNil(notifier.watchdogInterval)
    }

    func testMissingSocketIsReportedNotFatal() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": temporarySocketPath()])
        XCTAssertFalse(notifier.ready())
    }

    func testWatchdogIntervalHonoursWatchdogPid() {
        let mine = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "77"], processID: 77)
        XCTAssertEqual(mine.watchdogInterval, .seconds(3))
        let unowned = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000"], processID: 77)
        XCTAssertEqual(unowned.watchdogInterval, .seconds(3))
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "78"], processID: 77)
        XCTAssertNil(other.watchdogInterval)
        XCTAssertNil(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval)
        XCTAssertNil(SystemdNotifier(environment: ["WATCHDOG_USEC": "soon"]).watchdogInterval)
    }
}
