/// A site's name as written in the configuration: 1–63 characters of `a-z 0-9 -`.
///
/// Site names order every deterministic tie-break, so they compare by their UTF-8 bytes,
/// which for this alphabet is the same as PostgreSQL's `C` collation.
public typealias SiteName = String

extension SiteName {
    /// Whether `name` is a valid site name (CONTRACT §2).
    public static func isValidSiteName(_ name: String) -> Bool {
        guard (1...63).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
    }
}
