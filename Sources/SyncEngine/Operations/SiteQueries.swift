import Foundation
import Postgres

/// Runs one-shot work against every configured site at once, each on its own connection
/// (and thread), and reports per site whether it was reachable.
struct SiteQueries: Sendable {
    let configuration: Configuration

    /// Results in configuration order; a site's error is kept, never thrown.
    func each<T: Sendable>(
        label: String, _ body: @escaping @Sendable (SiteConfig, PostgresConnection) throws -> T
    ) async -> [(site: SiteConfig, result: Result<T, any Error>)] {
        await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            for (index, site) in configuration.sites.enumerated() {
                group.addTask {
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

    /// A one-line reason for a failed site, never containing a password.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PostgresError { return error.description }
        return "\(error)"
    }
}
