import Foundation

extension LogFormat {
    /// Timestamps in UTC with milliseconds: `2026-01-01T00:00:00.000Z`.
    static let timestampStyle = Date.ISO8601FormatStyle(
        includingFractionalSeconds: true,
        timeZone: TimeZone(secondsFromGMT: 0) ?? .current
    )

    /// Keys that every line starts with; metadata may not reuse them.
    static let reservedKeys: Set<String> = ["ts", "level", "msg"]

    /// Renders one record as a single line without the trailing newline. Values are escaped so
    /// that no input can break the line or forge a field.
    public func render(_ record: LogRecord) -> String {
        let timestamp = Self.timestampStyle.format(record.timestamp)
        switch self {
        case .logfmt:
            var line = "ts=\(timestamp) level=\(record.level.rawValue) msg="
            Self.appendLogfmtValue(record.message, to: &line)
            for field in record.metadata {
                line += " "
                line += Self.metadataKey(field.key)
                line += "="
                Self.appendLogfmtValue(field.value.description, to: &line)
            }
            return line
        case .json:
            var line = "{\"ts\":\"\(timestamp)\",\"level\":\"\(record.level.rawValue)\",\"msg\":"
            Self.appendJSONString(record.message, to: &line)
            for field in record.metadata {
                line += ","
                Self.appendJSONString(Self.metadataKey(field.key), to: &line)
                line += ":"
                switch field.value {
                case .string(let text): Self.appendJSONString(text, to: &line)
                case .int, .double, .bool: line += field.value.description
                }
            }
            line += "}"
            return line
        }
    }

    /// Keys come from code, but a stray space or `=` must still not corrupt the line.
    static func metadataKey(_ key: String) -> String {
        var safe = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": safe.unicodeScalars.append(scalar)
            default: safe += "_"
            }
        }
        if safe.isEmpty { return "_" }
        return reservedKeys.contains(safe) ? "_" + safe : safe
    }

    private static func appendLogfmtValue(_ value: String, to line: inout String) {
        let bare = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
        guard !bare else {
            line += value
            return
        }
        line += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if isControl(scalar) {
                    line += unicodeEscape(scalar)
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        line += "\""
    }

    private static func appendJSONString(_ value: String, to line: inout String) {
        line += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if isControl(scalar) {
                    line += unicodeEscape(scalar)
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        line += "\""
    }

    /// C0 and C1 controls, DEL, the Unicode line/paragraph separators, and invisible or
    /// direction-changing format characters: anything a terminal or a line-oriented reader could
    /// take for a line break or a command, strip, or use to make a line read differently.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
    }

    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: false)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
