/// One row of the settings table (``ConfigurationSettings/all``): a key, where it goes, its
/// documentation, whether `SIGHUP` applies it, and how a value is checked and stored.
public struct ConfigurationSetting: Sendable {
    public enum Section: String, Sendable {
        /// `[daemon]`, at most once.
        case daemon
        /// `[site NAME]`, once per site.
        case site
    }

    /// A value was rejected; the message says what is expected.
    struct InvalidValue: Error {
        let message: String
    }

    /// The values collected from one section while parsing.
    struct Draft {
        var daemon = DaemonSettings()
        var conninfo: String?
    }

    public let section: Section
    public let key: String
    /// What the key does and what it accepts, one sentence per element.
    public let documentation: [String]
    /// `SIGHUP` applies a change of this key; otherwise it takes a restart.
    public let reloadable: Bool
    /// Must appear in every section of its kind.
    public let required: Bool
    /// A value to show in the example file for a key without a default.
    public let example: String?
    let apply: @Sendable (String, inout Draft) throws(InvalidValue) -> Void
    let read: @Sendable (Draft) -> String?

    init(
        section: Section,
        key: String,
        documentation: [String],
        reloadable: Bool,
        required: Bool = false,
        example: String? = nil,
        apply: @escaping @Sendable (String, inout Draft) throws(InvalidValue) -> Void,
        read: @escaping @Sendable (Draft) -> String?
    ) {
        self.section = section
        self.key = key
        self.documentation = documentation
        self.reloadable = reloadable
        self.required = required
        self.example = example
        self.apply = apply
        self.read = read
    }

    /// The default as it would be written in the file; `nil` when the key has none.
    public var defaultText: String? {
        read(Draft())
    }

    /// Why `value` would be rejected, or `nil` when it is valid.
    public func problem(with value: String) -> String? {
        var scratch = Draft()
        do {
            try apply(value, &scratch)
            return nil
        } catch {
            return error.message
        }
    }
}
