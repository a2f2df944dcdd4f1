/// A syntax error in an INI file, naming the file, the line and (when there is one) the key.
public struct INIError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let key: String?
    public let message: String

    public init(file: String, line: Int, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: key 'k': message`, or `FILE:LINE: message` for header and layout errors.
    public var description: String {
        if let key {
            return "\(file):\(line): key '\(key)': \(message)"
        }
        return "\(file):\(line): \(message)"
    }
}
