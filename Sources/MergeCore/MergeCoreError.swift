/// A state that cannot be merged because it is not well formed (corrupt or hostile metadata).
public enum MergeCoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed state: \(reason)"
        }
    }
}
