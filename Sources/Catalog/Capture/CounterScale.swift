/// How a counter column's values map to the 64-bit integers its contributions are kept in.
///
/// Integer columns count in whole units. A `numeric(p,s)` column counts in units of 10⁻ˢ: capture
/// multiplies each delta by 10ˢ (exact, since every value of the column has at most `s`
/// decimals), and the merged sum is shown with `s` decimals again. With `p` ≤ 18 every value of
/// the column fits in such a unit count. A `numeric` without precision and scale is refused by
/// `TableResolver`, as its values have no fixed number of decimals to count in.
public struct CounterScale: Sendable, Hashable {
    /// Decimal places: 0 for integer columns.
    public let decimals: Int

    public init(decimals: Int) {
        self.decimals = decimals
    }

    public static let whole = CounterScale(decimals: 0)

    /// The most decimal digits a scaled counter's type may have (`numeric(18,s)`).
    public static let maximumPrecision = 18

    /// The scale of a counter of `type`: its declared decimals for `numeric(p,s)`, 0 otherwise.
    public init(of type: SQLType) {
        decimals = type.numericPrecisionAndScale?.scale ?? 0
    }

    /// `10^decimals` as an SQL literal (`1000` for three decimals).
    public var factorLiteral: String { "1" + String(repeating: "0", count: decimals) }

    /// `units` shown with this scale's decimals: 12345 with three decimals is `12.345`, -5 is `-0.005`.
    public func text(units: Int64) -> String {
        guard decimals > 0 else { return String(units) }
        let digits = String(units.magnitude)
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        let split = padded.index(padded.endIndex, offsetBy: -decimals)
        return (units < 0 ? "-" : "") + padded[..<split] + "." + padded[split...]
    }

    /// The unit count `text` stands for, when it has at most this scale's decimals and fits.
    public func units(of text: String) -> Int64? {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty || !fraction.isEmpty, fraction.count <= decimals,
            (whole + fraction).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        let digits = String(whole) + fraction + String(repeating: "0", count: decimals - fraction.count)
        guard let magnitude = UInt64(digits.isEmpty ? "0" : digits) else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}

extension SQLType {
    /// `(14, 3)` for `numeric(14,3)`, `(14, 0)` for `numeric(14)`; nil for every other type,
    /// including `numeric` without a modifier.
    public var numericPrecisionAndScale: (precision: Int, scale: Int)? {
        guard baseName == "numeric", let open = name.firstIndex(of: "("), name.hasSuffix(")") else { return nil }
        let inside = name[name.index(after: open)..<name.index(before: name.endIndex)]
        let numbers = inside.split(separator: ",").map { Int($0.trimmingCharacters(in: " ")) }
        guard let precision = numbers.first ?? nil else { return nil }
        let scale = numbers.count > 1 ? (numbers[1] ?? -1) : 0
        guard numbers.count <= 2, scale >= 0, scale <= precision else { return nil }
        return (precision, scale)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var text = self
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}
