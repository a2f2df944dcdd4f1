/// Reads back a line written by ``LogFormat/render(_:)``, for tools and tests that inspect the
/// daemon's output. Fields come back in line order, `ts`, `level` and `msg` first.
public enum LogLineParser {
    /// The fields of `line`, or `nil` when it is not a well-formed line of `format`.
    public static func parse(_ line: String, format: LogFormat) -> [LogField]? {
        var reader = Reader(Array(line.unicodeScalars))
        switch format {
        case .logfmt: return reader.logfmtLine()
        case .json: return reader.jsonObject()
        }
    }

    private struct Reader {
        let scalars: [Unicode.Scalar]
        var index = 0

        init(_ scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        var atEnd: Bool { index >= scalars.count }
        var current: Unicode.Scalar? { atEnd ? nil : scalars[index] }

        mutating func skipWhitespace() {
            while let scalar = current, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                index += 1
            }
        }

        mutating func expect(_ scalar: Unicode.Scalar) -> Bool {
            guard current == scalar else { return false }
            index += 1
            return true
        }

        // MARK: logfmt

        mutating func logfmtLine() -> [LogField]? {
            var fields: [LogField] = []
            while true {
                while current == " " { index += 1 }
                if atEnd { return fields }
                var key = ""
                while let scalar = current, scalar != "=", scalar != " ", scalar != "\"" {
                    key.unicodeScalars.append(scalar)
                    index += 1
                }
                guard !key.isEmpty, expect("=") else { return nil }
                let value: String
                if current == "\"" {
                    index += 1
                    guard let quoted = escapedString() else { return nil }
                    value = quoted
                    guard atEnd || current == " " else { return nil }
                } else {
                    var bare = ""
                    while let scalar = current, scalar != " " {
                        guard scalar != "\"", scalar != "=" else { return nil }
                        bare.unicodeScalars.append(scalar)
                        index += 1
                    }
                    value = bare
                }
                fields.append(LogField(key: key, value: .string(value)))
            }
        }

        // MARK: JSON (one flat object: string, number, true, false, null values)

        mutating func jsonObject() -> [LogField]? {
            skipWhitespace()
            guard expect("{") else { return nil }
            var fields: [LogField] = []
            skipWhitespace()
            if expect("}") {
                skipWhitespace()
                return atEnd ? fields : nil
            }
            while true {
                skipWhitespace()
                guard expect("\""), let key = escapedString() else { return nil }
                skipWhitespace()
                guard expect(":") else { return nil }
                skipWhitespace()
                guard let value = jsonValue() else { return nil }
                fields.append(LogField(key: key, value: value))
                skipWhitespace()
                if expect(",") { continue }
                guard expect("}") else { return nil }
                skipWhitespace()
                return atEnd ? fields : nil
            }
        }

        mutating func jsonValue() -> LogValue? {
            if expect("\"") {
                return escapedString().map(LogValue.string)
            }
            for (word, value) in [("true", LogValue.bool(true)), ("false", .bool(false)), ("null", .string(""))]
            where literal(word) {
                return value
            }
            var number = ""
            while let scalar = current, "0123456789+-.eE".unicodeScalars.contains(scalar) {
                number.unicodeScalars.append(scalar)
                index += 1
            }
            if let integer = Int(number) { return .int(integer) }
            if !number.isEmpty, let double = Double(number) { return .double(double) }
            return nil
        }

        mutating func literal(_ word: String) -> Bool {
            let wanted = Array(word.unicodeScalars)
            guard index + wanted.count <= scalars.count,
                Array(scalars[index..<index + wanted.count]) == wanted
            else { return false }
            index += wanted.count
            return true
        }

        /// The rest of a quoted string after its opening quote, through the closing quote. Both
        /// formats share the escapes `\" \\ \n \r \t \uXXXX`; JSON adds `\/ \b \f` and
        /// surrogate pairs.
        mutating func escapedString() -> String? {
            var text = ""
            while let scalar = current {
                index += 1
                switch scalar {
                case "\"":
                    return text
                case "\\":
                    guard let escaped = current else { return nil }
                    index += 1
                    switch escaped {
                    case "\"", "\\", "/": text.unicodeScalars.append(escaped)
                    case "n": text += "\n"
                    case "r": text += "\r"
                    case "t": text += "\t"
                    case "b": text += "\u{8}"
                    case "f": text += "\u{C}"
                    case "u":
                        guard let decoded = unicodeEscape() else { return nil }
                        text.unicodeScalars.append(decoded)
                    default: return nil
                    }
                default:
                    text.unicodeScalars.append(scalar)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= scalars.count else { return nil }
            let digits = String(String.UnicodeScalarView(scalars[index..<index + 4]))
            guard let value = UInt32(digits, radix: 16) else { return nil }
            index += 4
            return value
        }

        mutating func unicodeEscape() -> Unicode.Scalar? {
            guard let high = hex4() else { return nil }
            if (0xD800..<0xDC00).contains(high) {
                guard expect("\\"), expect("u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else {
                    return nil
                }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return Unicode.Scalar(high)
        }
    }
}
