/// Why a harness command failed; `usage` exits 64, everything else 1.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    var isUsage = false

    static func usage(_ message: String) -> BenchFailure {
        BenchFailure(description: message, isUsage: true)
    }
}
