/// A mistake in a `[table SCHEMA.NAME]` section, with the line and the key it is about.
///
/// The key is `nil` for a mistake in the section header itself (a bad table name, a table
/// declared twice). The configuration loader adds the file name and turns it into its own error.
public struct DeclarationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let key: String?
    public let message: String

    public init(line: Int, key: String?, message: String) {
        self.line = line
        self.key = key
        self.message = message
    }

    /// `line 12: key 'route': message`, the key left out when there is none.
    public var description: String {
        var text = "line \(line): "
        if let key { text += "key '\(key)': " }
        return text + message
    }
}
