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

    private struct Control: Sendable {
        var engine: SyncEngine?
        var stopRequested = false
        var pending: Configuration?
    }

    public init(configuration: Configuration, logger: Logger, logHandler: StderrLogHandler) {
        self.initialConfiguration = configuration
        self.logger = logger
        self.logHandler = logHandler
    }

    public func run() async throws -> ExitCode {
        let notifier = SystemdNotifier()
        let signals = SignalStream()
        logger.notice(
            "omnisync starting",
            [
                LogKey.version: SyncDaemon.version, LogKey.config: initialConfiguration.path,
                "sites": initialConfiguration.sites.map(\.name).joined(separator: ","),
            ])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await signal in signals { handle(signal, notifier: notifier) }
            }
            await runEngines(notifier: notifier)
            group.cancelAll()
        }
        notifier.stopping()
        logger.notice("omnisync stopped")
        return .ok
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
                await engine.run(onReady: { [logger] in
                    notifier.ready()
                    notifier.status(engine.statusLine())
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

    private func handle(_ signal: ProcessSignal, notifier: SystemdNotifier) {
        switch signal {
        case .terminate, .interrupt:
            let (already, engine) = control.withLock { state -> (Bool, SyncEngine?) in
                let already = state.stopRequested
                state.stopRequested = true
                return (already, state.engine)
            }
            if already {
                logger.notice("second stop signal, exiting now", ["signal": signal.description])
                exit(0)
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
        let current = control.withLock { $0.pending ?? $0.engine?.configuration } ?? initialConfiguration
        let next: Configuration
        do {
            next = try Configuration.load(path: current.path)
        } catch {
            logger.error("configuration not reloaded", [LogKey.config: current.path, LogKey.error: "\(error)"])
            notifier.ready()
            return
        }
        logHandler.minimumLevel = next.daemon.logLevel
        logHandler.logFormat = next.daemon.logFormat
        let changed = SyncDaemon.changedKeys(from: current, to: next)
        // Every key applies on SIGHUP; sites and batching take new connections (the engine
        // restarts in place, finishing its batches first), which the line says.
        let needsEngineRestart = next.sites != current.sites || next.daemon.batchSize != current.daemon.batchSize
            || next.daemon.pollIntervalMs != current.daemon.pollIntervalMs
            || next.daemon.metricsFile != current.daemon.metricsFile
        logger.notice(
            "configuration reloaded",
            [
                LogKey.config: next.path, "changed": changed.isEmpty ? "none" : changed.joined(separator: ","),
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
        }
    }

    /// The settings that differ, named as in the file (`[site NAME]` for site changes).
    static func changedKeys(from old: Configuration, to new: Configuration) -> [String] {
        var keys: [String] = []
        if old.daemon.logLevel != new.daemon.logLevel { keys.append("log_level") }
        if old.daemon.logFormat != new.daemon.logFormat { keys.append("log_format") }
        if old.daemon.batchSize != new.daemon.batchSize { keys.append("batch_size") }
        if old.daemon.pollIntervalMs != new.daemon.pollIntervalMs { keys.append("poll_interval_ms") }
        if old.daemon.metricsFile != new.daemon.metricsFile { keys.append("metrics_file") }
        let oldSites = Dictionary(old.sites.map { ($0.name, $0.conninfo) }, uniquingKeysWith: { a, _ in a })
        let newSites = Dictionary(new.sites.map { ($0.name, $0.conninfo) }, uniquingKeysWith: { a, _ in a })
        for name in Set(oldSites.keys).union(newSites.keys).sorted() where oldSites[name] != newSites[name] {
            keys.append("[site \(name)]")
        }
        return keys
    }
}
