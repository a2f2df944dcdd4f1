import CLibPQ
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
        var secrets: [String] = []
        return redacted(conninfo, secrets: &secrets)
    }

    /// Checks the syntax and keywords of a connection string without connecting, e.g. when a
    /// configuration file is loaded. Throws `.invalidInput` with libpq's message, secrets masked.
    /// A plain database name (no `=`, not a URI) is valid.
    public static func validate(_ conninfo: String, label: String = "conninfo") throws(PostgresError) {
        guard !conninfo.utf8.contains(0) else {
            throw .invalidInput("the connection string contains a NUL byte", statement: label)
        }
        guard looksLikeConnInfo(conninfo) else { return }
        var errorMessage: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &errorMessage) {
            PQconninfoFree(options)
            return
        }
        defer { PQfreemem(errorMessage) }
        let message = errorMessage.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "invalid connection string"
        throw .invalidInput(scrub(message, of: conninfo), statement: label)
    }

    /// `message` with the conninfo and every secret in it masked: libpq quotes parts of a malformed
    /// conninfo (a whole URI, a percent-encoded token) in its errors.
    static func scrub(_ message: String, of conninfo: String) -> String {
        var secrets: [String] = []
        let safe = redacted(conninfo, secrets: &secrets)
        var scrubbed = conninfo.isEmpty ? message : message.replacingOccurrences(of: conninfo, with: safe)
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            scrubbed = scrubbed.replacingOccurrences(of: secret, with: mask)
        }
        return scrubbed
    }

    private static let uriPrefixes = ["postgresql://", "postgres://"]
    private static let secretKeys: Set<String> = ["password", "sslpassword"]

    /// Masks secrets and appends each masked text (raw and decoded) to `secrets`.
    private static func redacted(_ conninfo: String, secrets: inout [String]) -> String {
        if isURI(conninfo) {
            return redactedURI(conninfo, secrets: &secrets)
        }
        return String(decoding: redactedKeyValue(Array(conninfo.utf8), secrets: &secrets), as: UTF8.self)
    }

    private static func isURI(_ text: String) -> Bool {
        let trimmed = text.drop(while: \.isWhitespace).lowercased()
        return uriPrefixes.contains { trimmed.hasPrefix($0) }
    }

    private static func looksLikeConnInfo(_ value: String) -> Bool {
        value.contains("=") || isURI(value)
    }

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

    private static func redactedKeyValue(_ text: [UInt8], secrets: inout [String]) -> [UInt8] {
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
                    secrets.append(String(decoding: text[j...], as: UTF8.self))
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
                secrets.append(String(decoding: text[valueStart..<i], as: UTF8.self))
                secrets.append(value)
                out += Array(mask.utf8)
            } else if String(decoding: key, as: UTF8.self) == "dbname", looksLikeConnInfo(value) {
                // libpq expands a conninfo given as dbname, so it may hold a password too.
                let inner = redacted(value, secrets: &secrets)
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

    private static func redactedURI(_ uri: String, secrets: inout [String]) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let head = uri[..<schemeEnd.upperBound]
        let rest = uri[schemeEnd.upperBound...]
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        var authorityAndPath = String(rest[..<queryStart])
        // The last '@' before the query ends the user info; a stray '@' in the path masks more, not less.
        if let at = authorityAndPath.lastIndex(of: "@"),
            let colon = authorityAndPath[..<at].firstIndex(of: ":")
        {
            let password = authorityAndPath[authorityAndPath.index(after: colon)..<at]
            secrets += [String(password), password.removingPercentEncoding ?? ""]
            authorityAndPath.replaceSubrange(password.startIndex..<password.endIndex, with: mask)
        }
        guard queryStart < rest.endIndex else { return head + authorityAndPath }
        let parameters = rest[rest.index(after: queryStart)...]
            .split(separator: "&", omittingEmptySubsequences: false)
            .map { parameter -> String in
                guard let eq = parameter.firstIndex(of: "=") else { return String(parameter) }
                let key = String(parameter[..<eq])
                guard isSecret((key.removingPercentEncoding ?? key).utf8) else { return String(parameter) }
                let value = parameter[parameter.index(after: eq)...]
                secrets += [String(value), value.removingPercentEncoding ?? ""]
                return "\(key)=\(mask)"
            }
        return head + authorityAndPath + "?" + parameters.joined(separator: "&")
    }
}
