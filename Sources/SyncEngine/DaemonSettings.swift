import DaemonKit

/// The `[daemon]` section of the configuration. Defaults and valid ranges live in
/// ``ConfigurationSettings``.
public struct DaemonSettings: Sendable, Equatable {
    public var logLevel: LogLevel = .info
    public var logFormat: LogFormat = .logfmt
    /// Most changes read from one site per round.
    public var batchSize: Int = 1000
    /// Safety poll when no `NOTIFY` arrives.
    public var pollIntervalMs: Int = 5000
    /// Where to write Prometheus text after each round; `nil`: no metrics file.
    public var metricsFile: String? = nil

    public init(
        logLevel: LogLevel = .info,
        logFormat: LogFormat = .logfmt,
        batchSize: Int = 1000,
        pollIntervalMs: Int = 5000,
        metricsFile: String? = nil
    ) {
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.batchSize = batchSize
        self.pollIntervalMs = pollIntervalMs
        self.metricsFile = metricsFile
    }
}
