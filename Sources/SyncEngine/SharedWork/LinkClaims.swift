/// Which links into one target this daemon takes and which it lets go, from what the target's
/// `pg_locks` shows. Pure: the locks themselves are taken by `LinkOwnership`.
///
/// Every daemon ranks the daemons present at the target for each link by the same hash
/// (rendezvous hashing), so they agree on the preferred one without talking: the links spread
/// evenly, and when a daemon comes or goes only its share moves. The preferred daemon takes a free
/// link at once; another takes it only once it has been free for a whole look interval (the
/// preferred one did not come for it), so a dead daemon's links are taken over either way.
public enum LinkClaims {
    public enum Holder: Sendable, Equatable {
        case free
        case me
        case other
    }

    public struct Claim: Sendable, Equatable {
        /// The link's lock key (`AdvisoryKey.link(source:)`).
        public let key: Int32
        /// What the daemons are ranked by for this link (`AdvisoryKey.rank(source:target:)`).
        public let rank: Int32
        public let holder: Holder
        /// Free since a look interval ago at least.
        public var freeBefore = false
        /// Whether this daemon can reach the link's source (not known to be down).
        public var sourceReachable = true
        /// The daemon this one last let the link go to, if any: it is not let go to the same
        /// daemon twice (that one may be unable to reach the source), which would ping-pong.
        public var handedTo: Int32?

        public init(
            key: Int32, rank: Int32? = nil, holder: Holder, freeBefore: Bool = false, sourceReachable: Bool = true,
            handedTo: Int32? = nil
        ) {
            self.key = key
            self.rank = rank ?? key
            self.holder = holder
            self.freeBefore = freeBefore
            self.sourceReachable = sourceReachable
            self.handedTo = handedTo
        }
    }

    public enum Action: Sendable, Equatable {
        case take(Int32)
        /// Let go, to the preferred daemon (nil: to whoever can reach the source).
        case release(Int32, to: Int32?)
    }

    /// The daemon preferred for a link, by its rank key, among those present (nil when none is).
    public static func preferred(key: Int32, daemons: Set<Int32>) -> Int32? {
        daemons.max { (score($0, key), $0) < (score($1, key), $1) }
    }

    /// A well-mixed 64-bit score of a daemon for a link (splitmix64's finalizer).
    public static func score(_ daemon: Int32, _ key: Int32) -> UInt64 {
        var z = (UInt64(UInt32(bitPattern: daemon)) << 32 | UInt64(UInt32(bitPattern: key))) &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// What `me` does about each link, given the daemons present (`me` among them).
    public static func plan(me: Int32, daemons: Set<Int32>, claims: [Claim]) -> [Action] {
        let present = daemons.union([me])
        var actions: [Action] = []
        for claim in claims {
            let best = preferred(key: claim.rank, daemons: present)
            switch claim.holder {
            case .me:
                if !claim.sourceReachable, present.count > 1 {
                    actions.append(.release(claim.key, to: nil))
                } else if let best, best != me, claim.handedTo != best {
                    actions.append(.release(claim.key, to: best))
                }
            case .free:
                guard claim.sourceReachable else { continue }
                if best == me || claim.freeBefore { actions.append(.take(claim.key)) }
            case .other:
                continue
            }
        }
        return actions
    }
}
