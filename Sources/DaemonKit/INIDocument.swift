/// A parsed INI file: its sections in file order, each with its entries and line numbers.
public struct INIDocument: Sendable, Equatable {
    /// One `key = value` line.
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        public let line: Int

        public init(key: String, value: String, line: Int) {
            self.key = key
            self.value = value
            self.line = line
        }
    }

    /// A `[name]` or `[name argument]` header and the entries under it.
    public struct Section: Sendable, Equatable {
        /// `site` for `[site web]`.
        public let name: String
        /// `web` for `[site web]`; `nil` for `[daemon]`.
        public let argument: String?
        public let line: Int
        public internal(set) var entries: [Entry]

        public init(name: String, argument: String?, line: Int, entries: [Entry] = []) {
            self.name = name
            self.argument = argument
            self.line = line
            self.entries = entries
        }

        /// The header as written in canonical form, for messages: `[site web]`.
        public var header: String {
            argument.map { "[\(name) \($0)]" } ?? "[\(name)]"
        }
    }

    public let file: String
    public internal(set) var sections: [Section]

    public init(file: String, sections: [Section]) {
        self.file = file
        self.sections = sections
    }
}
