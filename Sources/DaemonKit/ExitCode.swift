/// Process exit statuses, from sysexits(3) where one fits.
public enum ExitCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    /// A runtime failure, or `verify` found differences.
    case failure = 1
    /// Bad command line.
    case usage = 64
    /// A site could not be reached.
    case unavailable = 69
    /// An internal error.
    case software = 70
    /// A configuration error.
    case config = 78

    public var description: String { String(rawValue) }
}
