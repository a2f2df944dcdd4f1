/// A site database under test, by its configured name.
struct BenchSite: Sendable {
    let name: String
    let conninfo: String
}
