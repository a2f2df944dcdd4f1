import DaemonKit

// Temporary stand-ins with the engine's agreed signatures, so the command-line front builds
// before the engine lands. Replaced wholesale by the real implementation.

public struct Migrator: Sendable {
    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func migrate(siteName: String?) async -> [SiteMigrationResult] {
        configuration.sites.filter { siteName == nil || $0.name == siteName }.map {
            SiteMigrationResult(site: $0.name, outcome: .failed(message: "not implemented"))
        }
    }
}

public struct SiteMigrationResult: Sendable {
    public enum Outcome: Sendable {
        case migrated(from: Int, to: Int), upToDate(version: Int), unreachable(message: String),
            belongsToOtherSite(recorded: String), failed(message: String)
    }

    public let site: String
    public let outcome: Outcome
}

public final class SyncDaemon: Sendable {
    let configuration: Configuration
    let logger: Logger
    let logHandler: StderrLogHandler

    public init(configuration: Configuration, logger: Logger, logHandler: StderrLogHandler) {
        self.configuration = configuration
        self.logger = logger
        self.logHandler = logHandler
    }

    public func run() async throws -> ExitCode {
        logger.error("not implemented")
        return .software
    }
}

public struct StatusReport: Sendable {
    public var anyReachable: Bool

    public func renderText() -> String { "" }

    public func renderJSON() -> String { "{}" }
}

public struct StatusCollector: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func collect() async -> StatusReport {
        StatusReport(anyReachable: false)
    }
}

public struct VerifyReport: Sendable {
    public var unreachable: [String]
    public var differences: [String]

    public func render() -> String { differences.joined(separator: "\n") }
}

public struct Verifier: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func verify() async -> VerifyReport {
        VerifyReport(unreachable: configuration.sites.map(\.name), differences: [])
    }
}

public struct ConflictListing: Sendable {
    public var anyReachable: Bool

    public func render(json: Bool) -> String { "" }
}

public enum ResolveOutcome: Sendable {
    case resolved(sites: [String]), notFound, unreachable(message: String)
}

public struct ConflictLog: Sendable {
    let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func list(includeResolved: Bool) async -> ConflictListing {
        ConflictListing(anyReachable: false)
    }

    public func resolve(id: String) async -> ResolveOutcome {
        .unreachable(message: "not implemented")
    }
}
