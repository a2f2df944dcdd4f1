/// Which sites follow which values (`omnisync.follow(NAMESPACE, value)`, CONTRACT §8), indexed by
/// value so that finding a row's followers costs what they are, not the number of sites.
public struct FollowIndex: Sendable, Equatable {
    private struct Followed: Hashable {
        let namespace: String
        let value: String
    }

    private var followers: [Followed: Set<String>] = [:]

    public init() {}

    public mutating func follow(site: String, namespace: String, value: String) {
        followers[Followed(namespace: namespace, value: value), default: []].insert(site)
    }

    /// Every value of `follows` followed by `site`.
    mutating func follow(site: String, all follows: [FollowBook.Follow]) {
        for follow in follows { self.follow(site: site, namespace: follow.namespace, value: follow.value) }
    }

    public mutating func unfollow(site: String, namespace: String, value: String) {
        let key = Followed(namespace: namespace, value: value)
        followers[key]?.remove(site)
        if followers[key]?.isEmpty == true { followers[key] = nil }
    }

    /// The sites following `value` in `namespace`.
    public func followers(namespace: String, value: String) -> Set<String> {
        followers[Followed(namespace: namespace, value: value)] ?? []
    }

    public func follows(site: String, namespace: String, value: String) -> Bool {
        followers[Followed(namespace: namespace, value: value)]?.contains(site) ?? false
    }
}
