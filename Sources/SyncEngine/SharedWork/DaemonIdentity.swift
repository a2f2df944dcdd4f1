import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Who this daemon is to the others sharing the links (CONTRACT §9, guarantee 8): `host:pid` for
/// people, and the advisory-lock key its sessions hold at every target while it runs.
struct DaemonIdentity: Sendable, Equatable {
    /// `host:pid`, as `status --json` shows it.
    let name: String
    /// Unique per engine of the process (an engine restarted by SIGHUP is a new participant).
    let key: Int32

    private static let engines = Atomic<Int>(0)

    /// This process's next engine.
    static func next() -> DaemonIdentity {
        let name = "\(hostName()):\(getpid())"
        let engine = engines.add(1, ordering: .relaxed).newValue
        return DaemonIdentity(name: name, key: AdvisoryKey.hash("\(name)#\(engine)"))
    }

    init(name: String, key: Int32) {
        self.name = name
        self.key = key
    }

    /// The kernel's host name: no name service is asked (a DNS look-up could hang at start).
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// The advisory locks omnisync takes in a target's database, in PostgreSQL's two-key form
/// (`pg_try_advisory_lock(int, int)`; `pg_locks` shows them with `objsubid` 2). Keys are stable
/// hashes, the same in every process and on every machine.
public enum AdvisoryKey {
    /// First key of a daemon's presence lock (second key: `DaemonIdentity.key`), held by each of
    /// its apply sessions: the daemons present at a target are the holders of this class.
    public static let daemonClass = hash("omnisync daemon")
    /// First key of a link's lock (second key: `link(source:)`): its holder applies that source's
    /// changes to the target.
    public static let linkClass = hash("omnisync link")

    public static func link(source: String) -> Int32 { hash("link from \(source)") }

    /// What daemons rank each other by for one link (`LinkClaims`): unlike the lock key, it differs
    /// from target to target, so that a source's links into several targets spread too.
    public static func rank(source: String, target: String) -> Int32 { hash("link from \(source) to \(target)") }

    /// FNV-1a over the UTF-8 bytes, kept to 31 bits: positive as an `int` and as an `oid` alike.
    public static func hash(_ text: String) -> Int32 {
        var value: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            value ^= UInt32(byte)
            value = value &* 16_777_619
        }
        return Int32(bitPattern: value & 0x7fff_ffff)
    }
}
