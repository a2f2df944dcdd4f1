import Postgres

/// Why work at one site failed: a statement or the connection failed, or the site is reachable
/// but must not be synced until a person acts. The error of `SiteHandle.run`.
enum SiteFailure: Error, Sendable, CustomStringConvertible {
    case postgres(PostgresError)
    case misconfigured(SiteProblem)

    var description: String {
        switch self {
        case .postgres(let error): return error.description
        case .misconfigured(let problem): return problem.description
        }
    }
}
