/// One row of the settings table (``ConfigurationSettings/all``): a key, where it goes, its
/// documentation, what `SIGHUP` does with a change of it, and how a value is checked and stored.
public struct ConfigurationSetting: Sendable {
    /// What a `SIGHUP` does when the key's value changed. A reload computes what changed, and
    /// what it must do about it, from this alone (``ConfigurationChange``).
    public enum ReloadEffect: Sendable, Equatable {
        /// Applied at once; nothing else is disturbed (the log level and format).
        case inPlace
        /// Applied by restarting the engine in place: the batches under way finish, then every
        /// site is connected anew with the new value.
        case renewsConnections
    }

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
        var hub: Bool?
        var locations: [String]?
    }

    public let section: Section
    public let key: String
    /// What the key does and what it accepts, one sentence per element.
    public let documentation: [String]
    /// How `SIGHUP` applies a change of this key.
    public let onReload: ReloadEffect
    /// Must appear in every section of its kind.
    public let required: Bool
    /// A value to show in the example file for a key without a default.
    public let example: String?
    /// The default in words, for a key whose default is not one value (`locations`).
    public let defaultDescription: String?
    let apply: @Sendable (String, inout Draft) throws(InvalidValue) -> Void
    let read: @Sendable (Draft) -> String?

    init(
        section: Section,
        key: String,
        documentation: [String],
        onReload: ReloadEffect,
        required: Bool = false,
        example: String? = nil,
        defaultDescription: String? = nil,
        apply: @escaping @Sendable (String, inout Draft) throws(InvalidValue) -> Void,
        read: @escaping @Sendable (Draft) -> String?
    ) {
        self.section = section
        self.key = key
        self.documentation = documentation
        self.onReload = onReload
        self.required = required
        self.example = example
        self.defaultDescription = defaultDescription
        self.apply = apply
        self.read = read
    }

    /// The value of a `[daemon]` key in `settings`, as it would be written in the file.
    func value(in settings: DaemonSettings) -> String? {
        var draft = Draft()
        draft.daemon = settings
        return read(draft)
    }

    /// The value of a `[site]` key in `site`, as it would be written in the file.
    func value(in site: SiteConfig) -> String? {
        var draft = Draft()
        draft.conninfo = site.conninfo
        draft.hub = site.isHub
        draft.locations = site.locations
        return read(draft)
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
