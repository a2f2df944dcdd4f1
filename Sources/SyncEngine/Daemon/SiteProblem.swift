/// A site that is reachable but must not be synced until a person acts.
struct SiteProblem: Error, Sendable, Equatable, CustomStringConvertible {
    let site: String
    let message: String

    var description: String { "site \(site): \(message)" }
}
