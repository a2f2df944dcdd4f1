import DaemonKit

/// The `[daemon]` section of the configuration. The defaults are the initializer's, written
/// once; ``ConfigurationSettings`` reads them from there for the example file and holds the
/// valid ranges.
public struct DaemonSettings: Sendable, Equatable {
    public var logLevel: LogLevel
    public var logFormat: LogFormat
    /// Most changes read from one site per round.
    public var batchSize: Int
    /// Safety poll when no `NOTIFY` arrives.
    public var pollIntervalMs: Int
    /// Where to write Prometheus text after each round; `nil`: no metrics file.
    public var metricsFile: String?

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
