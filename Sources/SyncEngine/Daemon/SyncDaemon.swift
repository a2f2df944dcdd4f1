import DaemonKit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `omnisync run`: the sync engine under signal control. SIGTERM/SIGINT finish the batches
/// under way and exit 0 (a second one exits at once — safe, since every apply is idempotent);
/// SIGHUP reloads the configuration, restarting the engine in place when sites or batching change.
public final class SyncDaemon: Sendable {
    public static let version = "0.1.0"

    private let initialConfiguration: Configuration
    private let logger: Logger
    private let logHandler: StderrLogHandler
    private let control = Mutex(Control())
    /// Where each reload's outcome is written for `omnisync reload`; nil outside systemd.
    private let reloadReportPath: String?

    private struct Control: Sendable {
        var engine: SyncEngine?
        var stopRequested = false
        var pending: Configuration?
        /// SIGHUPs handled so far: the generation of the next reload report.
        var reloads = 0
    }

    /// - Parameter environment: read once, for `RUNTIME_DIRECTORY` (see ``ReloadReport``).
    public init(
        configuration: Configuration, logger: Logger, logHandler: StderrLogHandler,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.initialConfiguration = configuration
        self.logger = logger
        self.logHandler = logHandler
        self.reloadReportPath = ReloadReport.path(environment: environment)
    }

    /// How `run()` ended.
    public enum Outcome: Sendable, Equatable {
        /// A stop signal: the batches under way finished and every connection was closed.
        case stopped
        /// A second stop signal arrived while stopping: the caller should exit at once, which
        /// is safe because every apply is idempotent (the work under way is simply abandoned).
        case stoppedAtOnce
    }

    /// Runs until a stop signal. Never exits the process itself: on a second stop signal it
    /// returns ``Outcome/stoppedAtOnce`` without waiting for the batches under way.
    public func run() async -> Outcome {
        let notifier = SystemdNotifier()
        let signals = SignalStream()
        logger.notice(
            "omnisync starting",
            [
                LogKey.version: SyncDaemon.version, LogKey.config: initialConfiguration.path,
                "sites": initialConfiguration.sites.map(\.name).joined(separator: ","),
            ])
        report(ReloadReport(pid: getpid(), generation: 0, error: nil))
        let (outcomes, outcome) = AsyncStream.makeStream(of: Outcome.self)
        let signalLoop = Task { [self] in
            for await signal in signals { handle(signal, notifier: notifier, outcome: outcome) }
        }
        // Not awaited after a second stop signal: the caller exits, abandoning it.
        Task { [self] in
            await runEngines(notifier: notifier)
            outcome.yield(.stopped)
        }
        var result = Outcome.stopped
        for await first in outcomes {
            result = first
            break
        }
        signalLoop.cancel()
        if result == .stopped {
            notifier.stopping()
            logger.notice("omnisync stopped")
        }
        return result
    }

    /// Runs an engine per configuration until a stop is requested.
    private func runEngines(notifier: SystemdNotifier) async {
        var configuration = initialConfiguration
        var reloading = false
        while true {
            let engine = SyncEngine(configuration: configuration, logger: logger, reportsStatus: notifier.isEnabled)
            let stopNow = control.withLock { state -> Bool in
                state.engine = engine
                return state.stopRequested
            }
            if stopNow { break }
            let sites = configuration.sites.count
            let applied = reloading
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await SyncDaemon.superviseLoop(engine: engine, notifier: notifier) }
                await engine.run(onReady: { [self] in
                    notifier.ready()
                    notifier.status(engine.statusLine())
                    if applied {
                        report(ReloadReport(pid: getpid(), generation: control.withLock { $0.reloads }, error: nil))
                    }
                    logger.notice(
                        applied ? "configuration applied" : "omnisync ready", ["sites_up": engine.sitesUp, "sites": sites])
                })
                group.cancelAll()
            }
            let next = control.withLock { state -> Configuration? in
                state.engine = nil
                if state.stopRequested { return nil }
                defer { state.pending = nil }
                return state.pending
            }
            guard let next else { break }
            configuration = next
            reloading = true
        }
    }

    /// Keeps `STATUS=` current and pings the watchdog only while every link makes progress, so a
    /// stuck apply lets systemd's watchdog fire.
    static func superviseLoop(engine: SyncEngine, notifier: SystemdNotifier) async {
        guard notifier.isEnabled else { return }
        let watchdog = notifier.watchdogInterval
        // Half the watchdog interval (systemd's advice), and often enough to keep STATUS= fresh.
        let tick = min(watchdog.map { $0 / 2 } ?? .seconds(5), .seconds(5))
        var sinceStatus = Duration.zero
        while !Task.isCancelled && !engine.isStopping {
            if let watchdog, engine.isMakingProgress(within: watchdog) {
                notifier.watchdog()
            }
            sinceStatus += tick
            if sinceStatus >= .seconds(5) {
                notifier.status(engine.statusLine())
                sinceStatus = .zero
            }
            try? await Task.sleep(for: tick)
        }
    }

    private func handle(
        _ signal: ProcessSignal, notifier: SystemdNotifier, outcome: AsyncStream<Outcome>.Continuation
    ) {
        switch signal {
        case .terminate, .interrupt:
            let (already, engine) = control.withLock { state -> (Bool, SyncEngine?) in
                let already = state.stopRequested
                state.stopRequested = true
                return (already, state.engine)
            }
            if already {
                logger.notice("second stop signal, exiting now", ["signal": signal.description])
                outcome.yield(.stoppedAtOnce)
                return
            }
            logger.notice("stopping", ["signal": signal.description])
            notifier.stopping()
            engine?.stop()
        case .hangup:
            reload(notifier: notifier)
        }
    }

    private func reload(notifier: SystemdNotifier) {
        notifier.reloading()
        let (current, generation) = control.withLock { state -> (Configuration, Int) in
            state.reloads += 1
            return (state.pending ?? state.engine?.configuration ?? initialConfiguration, state.reloads)
        }
        let next: Configuration
        do {
            next = try Configuration.load(path: current.path)
        } catch {
            logger.error("configuration not reloaded", [LogKey.config: current.path, LogKey.error: "\(error)"])
            notifier.ready()
            report(ReloadReport(pid: getpid(), generation: generation, error: "\(error)"))
            return
        }
        logHandler.minimumLevel = next.daemon.logLevel
        logHandler.logFormat = next.daemon.logFormat
        let changes = ConfigurationChange.between(current, next)
        // The settings table says what each change takes: the log keys apply in place (just
        // done); the others restart the engine in place with new connections, batches finished first.
        let needsEngineRestart = changes.contains { $0.effect == .renewsConnections }
        logger.notice(
            "configuration reloaded",
            [
                LogKey.config: next.path,
                "changed": changes.isEmpty ? "none" : changes.map(\.name).joined(separator: ","),
                "reconnect": needsEngineRestart,
            ])
        if needsEngineRestart {
            let engine = control.withLock { state -> SyncEngine? in
                state.pending = next
                return state.engine
            }
            engine?.stop()
        } else {
            notifier.ready()
            report(ReloadReport(pid: getpid(), generation: generation, error: nil))
        }
    }

    /// Writes `report` for `omnisync reload` (replacing the file whole, so a reader never sees
    /// half of it); a failure is logged and the daemon carries on.
    private func report(_ report: ReloadReport) {
        guard let reloadReportPath else { return }
        do {
            try report.write(to: reloadReportPath)
        } catch {
            logger.warning("reload report not written", ["path": reloadReportPath, LogKey.error: "\(error)"])
        }
    }
}

/// The outcome of the daemon's last reload, in `$RUNTIME_DIRECTORY/reload` (the unit's
/// `RuntimeDirectory=omnisync`): how `omnisync reload`, systemd's `ExecReload=`, learns that the
/// daemon has applied the new file — or refused it — before it returns. Generation 0 is written
/// at start; each SIGHUP's outcome carries the count of SIGHUPs handled, once the daemon is ready
/// again with the new configuration (connections renewed, if they had to be).
public struct ReloadReport: Sendable, Equatable {
    public var pid: Int32
    public var generation: Int
    /// Why the file was refused; nil when it was applied.
    public var error: String?

    public init(pid: Int32, generation: Int, error: String?) {
        self.pid = pid
        self.generation = generation
        self.error = error
    }

    /// `$RUNTIME_DIRECTORY/reload` (the first directory when systemd lists several).
    public static func path(environment: [String: String]) -> String? {
        guard let directories = environment["RUNTIME_DIRECTORY"],
            let first = directories.split(separator: ":").first, !first.isEmpty
        else { return nil }
        return String(first) + "/reload"
    }

    /// `pid generation`, then `applied` or `refused` and the error, one per line.
    var text: String {
        "\(pid) \(generation)\n" + (error.map { "refused\n" + $0.replacingOccurrences(of: "\n", with: " ") + "\n" } ?? "applied\n")
    }

    public init?(text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2 else { return nil }
        let head = lines[0].split(separator: " ")
        guard head.count == 2, let pid = Int32(head[0]), let generation = Int(head[1]) else { return nil }
        switch lines[1] {
        case "applied": self.init(pid: pid, generation: generation, error: nil)
        case "refused": self.init(pid: pid, generation: generation, error: lines.count > 2 ? String(lines[2]) : "")
        default: return nil
        }
    }

    public func write(to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The report at `path`; nil when there is none (or not a whole one).
    public static func read(path: String) -> ReloadReport? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(ReloadReport.init(text:))
    }
}
