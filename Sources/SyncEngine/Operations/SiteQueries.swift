import Foundation
import Postgres

/// Runs one-shot work against every configured site at once, each on its own connection
/// (and thread), and reports per site whether it was reachable.
struct SiteQueries: Sendable {
    let configuration: Configuration

    /// Results in configuration order; a site's error is kept, never thrown. With `only`, the
    /// other sites are not contacted (a site that did not answer a first round is not waited
    /// for again) and fail with `NotAsked`.
    func each<T: Sendable>(
        label: String, only: Set<String>? = nil, _ body: @escaping @Sendable (SiteConfig, PostgresConnection) throws -> T
    ) async -> [(site: SiteConfig, result: Result<T, any Error>)] {
        await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            for (index, site) in configuration.sites.enumerated() {
                group.addTask {
                    if let only, !only.contains(site.name) { return (index, .failure(NotAsked())) }
                    let session = PostgresSession(
                        conninfo: site.conninfo, label: "\(site.name)/\(label)", setup: SiteHandle.sessionSetup)
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await session.withConnection { try body(site, $0) })
                    } catch {
                        result = .failure(error)
                    }
                    await session.disconnect()
                    return (index, result)
                }
            }
            var results: [(Int, Result<T, any Error>)] = []
            for await item in group { results.append(item) }
            return results.sorted { $0.0 < $1.0 }.map { (configuration.sites[$0.0], $0.1) }
        }
    }

    struct NotAsked: Error {}

    /// The sites that answered (even with an error of their own), not those that could not be reached.
    static func answered<T>(_ results: [(site: SiteConfig, result: Result<T, any Error>)]) -> Set<String> {
        Set(results.compactMap { item in
            if case .failure(let error as PostgresError) = item.result, error.category == .connection { return nil }
            return item.site.name
        })
    }

    /// A one-line reason for a failed site, never containing a password.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PostgresError { return error.description }
        return "\(error)"
    }
}
