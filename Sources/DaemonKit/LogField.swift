/// One `key=value` pair of a log line's metadata.
public struct LogField: Sendable, Equatable {
    public var key: String
    public var value: LogValue

    public init(key: String, value: LogValue) {
        self.key = key
        self.value = value
    }
}
