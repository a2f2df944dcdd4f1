/// The merge rule declared for one non-key column (CONTRACT §6.3), as the configuration names it.
///
/// This is the declaration only; the merging itself belongs to MergeCore's rule types.
public enum ColumnRuleSpec: Sendable, Hashable, CustomStringConvertible {
    /// Each write is a delta; deltas from every site add up; a physical count resets it.
    case counter
    /// Last writer wins, column by column, by causality first and hybrid timestamp second.
    case lww
    /// The greatest value ever written at any site.
    case greatest
    /// The least value ever written at any site.
    case least
    /// A text column that only moves forward through these values, in this order.
    case status([String])
    /// Not replicated: each site keeps its own value.
    case local

    /// The rule names, for messages.
    public static let names = ["counter", "lww", "greatest", "least", "status(V1, V2, …)", "local"]

    /// Reads `counter`, `lww`, `greatest`, `least`, `local` or `status(V1, V2, …)`. Status values
    /// are text, trimmed, non-empty and distinct: a value listed twice would make the order ambiguous.
    public static func parse(_ text: String) throws(SyntaxError) -> ColumnRuleSpec {
        let trimmed = text.trimmingSpaces
        switch trimmed {
        case "counter": return .counter
        case "lww": return .lww
        case "greatest": return .greatest
        case "least": return .least
        case "local": return .local
        default: break
        }
        guard trimmed.hasPrefix("status") else {
            let shown = trimmed.isEmpty ? "an empty rule" : "unknown rule '\(trimmed)'"
            throw SyntaxError("\(shown); use one of \(names.joined(separator: ", "))")
        }
        let afterWord = trimmed.dropFirst("status".count).trimmingSpaces
        guard afterWord.hasPrefix("("), afterWord.hasSuffix(")"), afterWord.count >= 2 else {
            throw SyntaxError("write a status rule as status(V1, V2, …), its values in forward order")
        }
        let inside = afterWord.dropFirst().dropLast()
        guard !inside.contains("("), !inside.contains(")") else {
            throw SyntaxError("a status value cannot contain '(' or ')'")
        }
        var values: [String] = []
        for (position, raw) in inside.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let value = String(raw).trimmingSpaces
            guard !value.isEmpty else {
                throw SyntaxError("status value \(position + 1) is empty")
            }
            guard !values.contains(value) else {
                throw SyntaxError("status value '\(value)' is listed twice; each value has one place in the order")
            }
            values.append(value)
        }
        return .status(values)
    }

    /// Whether the rule makes the column replicated at all.
    public var isReplicated: Bool { self != .local }

    /// The rule as the configuration writes it: `status(placed, paid)`.
    public var description: String {
        switch self {
        case .counter: "counter"
        case .lww: "lww"
        case .greatest: "greatest"
        case .least: "least"
        case .local: "local"
        case .status(let values): "status(" + values.joined(separator: ", ") + ")"
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (the configuration's blanks).
    var trimmingSpaces: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isBlank($0) }), let end = lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
