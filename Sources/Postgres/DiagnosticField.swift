/// The `PG_DIAG_*` field codes of `PQresultErrorField`; character-literal macros are not imported.
enum DiagnosticField {
    static let severity = code("S")
    static let severityNonLocalized = code("V")
    static let sqlState = code("C")
    static let message = code("M")
    static let detail = code("D")
    static let hint = code("H")

    private static func code(_ letter: Unicode.Scalar) -> Int32 {
        Int32(UInt8(ascii: letter))
    }
}
