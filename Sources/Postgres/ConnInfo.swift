import Foundation

/// Helpers for libpq connection strings, in both the `key=value` and the URI form.
public enum ConnInfo {
    /// What a masked secret is replaced by.
    public static let mask = "***"

    /// The connection string with every password masked, for logs and error messages.
    ///
    /// Handles `password=x`, quoted values with spaces, `\` escapes and doubled quotes, a conninfo
    /// nested in `dbname=`, and URIs (`postgresql://user:secret@host/db`, `?password=...`).
    /// When the text cannot be parsed, it masks more rather than less.
    public static func redacted(_ conninfo: String) -> String {
        let trimmed = conninfo.drop(while: \.isWhitespace).lowercased()
        if uriPrefixes.contains(where: { trimmed.hasPrefix($0) }) {
            return redactedURI(conninfo)
        }
        return String(decoding: redactedKeyValue(Array(conninfo.utf8)), as: UTF8.self)
    }

    private static let uriPrefixes = ["postgresql://", "postgres://"]
    private static let secretKeys: Set<String> = ["password", "sslpassword"]

    private static func isSecret<C: Collection<UInt8>>(_ key: C) -> Bool {
        secretKeys.contains(String(decoding: key, as: UTF8.self).lowercased())
    }

    // MARK: key=value

    private static let space = UInt8(ascii: " ")
    private static let equals = UInt8(ascii: "=")
    private static let quote = UInt8(ascii: "'")
    private static let backslash = UInt8(ascii: "\\")

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == space || (byte >= 9 && byte <= 13)
    }

    private static func redactedKeyValue(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if isSpace(text[i]) {
                out.append(text[i])
                i += 1
                continue
            }
            let keyStart = i
            while i < text.count, !isSpace(text[i]), text[i] != equals { i += 1 }
            let key = text[keyStart..<i]
            out += key
            var j = i
            while j < text.count, isSpace(text[j]) { j += 1 }
            guard j < text.count, text[j] == equals else {
                // Not `key=value`, which libpq rejects; never echo what follows a secret's name.
                if isSecret(key), j < text.count {
                    out += Array(" \(mask)".utf8)
                    return out
                }
                out += text[i..<j]
                i = j
                continue
            }
            out += text[i...j]
            i = j + 1
            while i < text.count, isSpace(text[i]) {
                out.append(text[i])
                i += 1
            }
            let valueStart = i
            let value = scanValue(text, &i)
            if isSecret(key) {
                out += Array(mask.utf8)
            } else if String(decoding: key, as: UTF8.self) == "dbname", looksLikeConnInfo(value) {
                // libpq expands a conninfo given as dbname, so it may hold a password too.
                let inner = redacted(value)
                out += inner == value ? Array(text[valueStart..<i]) : quoted(inner)
            } else {
                out += text[valueStart..<i]
            }
        }
        return out
    }

    /// Reads one value starting at `i` (quoted or not) and returns it unescaped; `i` ends after it.
    private static func scanValue(_ text: [UInt8], _ i: inout Int) -> String {
        var value: [UInt8] = []
        if i < text.count, text[i] == quote {
            i += 1
            while i < text.count {
                let byte = text[i]
                if byte == backslash {
                    if i + 1 < text.count { value.append(text[i + 1]) }
                    i += 2
                } else if byte == quote {
                    // SQL-style doubled quote: libpq rejects it, but masking must still cover it.
                    if i + 1 < text.count, text[i + 1] == quote {
                        value.append(quote)
                        i += 2
                    } else {
                        i += 1
                        break
                    }
                } else {
                    value.append(byte)
                    i += 1
                }
            }
        } else {
            while i < text.count, !isSpace(text[i]) {
                if text[i] == backslash {
                    if i + 1 < text.count { value.append(text[i + 1]) }
                    i += 2
                } else {
                    value.append(text[i])
                    i += 1
                }
            }
        }
        i = min(i, text.count)
        return String(decoding: value, as: UTF8.self)
    }

    private static func looksLikeConnInfo(_ value: String) -> Bool {
        value.contains("=") || uriPrefixes.contains { value.lowercased().hasPrefix($0) }
    }

    private static func quoted(_ value: String) -> [UInt8] {
        var out: [UInt8] = [quote]
        for byte in value.utf8 {
            if byte == quote || byte == backslash { out.append(backslash) }
            out.append(byte)
        }
        out.append(quote)
        return out
    }

    // MARK: URI

    private static func redactedURI(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let head = uri[..<schemeEnd.upperBound]
        let rest = uri[schemeEnd.upperBound...]
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        var authorityAndPath = String(rest[..<queryStart])
        // The last '@' before the query ends the user info; a stray '@' in the path masks more, not less.
        if let at = authorityAndPath.lastIndex(of: "@"),
            let colon = authorityAndPath[..<at].firstIndex(of: ":")
        {
            authorityAndPath.replaceSubrange(authorityAndPath.index(after: colon)..<at, with: mask)
        }
        guard queryStart < rest.endIndex else { return head + authorityAndPath }
        let parameters = rest[rest.index(after: queryStart)...]
            .split(separator: "&", omittingEmptySubsequences: false)
            .map { parameter -> String in
                guard let eq = parameter.firstIndex(of: "=") else { return String(parameter) }
                let key = String(parameter[..<eq])
                let decodedKey = key.removingPercentEncoding ?? key
                return isSecret(decodedKey.utf8) ? "\(key)=\(mask)" : String(parameter)
            }
        return head + authorityAndPath + "?" + parameters.joined(separator: "&")
    }
}
