import SyncEngine
import TestSupport
import XCTest

/// How daemons that share a configuration split the links into a target (guarantee 8), on a model
/// of the target's advisory locks: every daemon looks in turn and acts as `LinkClaims` decides.
final class LinkClaimsTests: XCTestCase {
    /// The target's link locks and what each daemon remembers between its looks.
    struct Target {
        var holders: [Int32: Int32] = [:]
        var present: Set<Int32> = []
        var freeAtLastLook: [Int32: Set<Int32>] = [:]
        var handedTo: [Int32: [Int32: Int32]] = [:]
        var unreachable: [Int32: Set<Int32>] = [:]

        mutating func look(_ me: Int32, keys: [Int32]) {
            let claims = keys.map { key in
                LinkClaims.Claim(
                    key: key, holder: holders[key] == nil ? .free : holders[key] == me ? .me : .other,
                    freeBefore: freeAtLastLook[me, default: []].contains(key),
                    sourceReachable: !(unreachable[me]?.contains(key) ?? false), handedTo: handedTo[me]?[key])
            }
            let wasFree = Set(keys.filter { holders[$0] == nil })
            var taken: Set<Int32> = []
            for action in LinkClaims.plan(me: me, daemons: present, claims: claims) {
                switch action {
                case .take(let key):
                    if holders[key] == nil {
                        holders[key] = me
                        taken.insert(key)
                    }
                case .release(let key, let to):
                    holders[key] = nil
                    if let to { handedTo[me, default: [:]][key] = to }
                }
            }
            freeAtLastLook[me] = wasFree.subtracting(taken)
        }

        mutating func kill(_ daemon: Int32) {
            present.remove(daemon)
            holders = holders.filter { $0.value != daemon }
        }

        /// Every present daemon looks, in a random order, `rounds` times.
        mutating func settle(keys: [Int32], rounds: Int, using random: inout SeededGenerator) {
            for _ in 0..<rounds {
                for daemon in present.shuffled(using: &random) { look(daemon, keys: keys) }
            }
        }
    }

    func randomKeys(_ count: Int, using random: inout SeededGenerator) -> [Int32] {
        var keys: Set<Int32> = []
        while keys.count < count { keys.insert(Int32.random(in: 0...Int32.max, using: &random)) }
        return keys.sorted()
    }

    func testTheDaemonsAgreeOnOneHolderPerLinkAndItIsThePreferredOne() {
        var random = SeededGenerator(seed: 9101)
        for _ in 0..<50 {
            let daemons = randomKeys(Int.random(in: 1...5, using: &random), using: &random)
            let keys = randomKeys(Int.random(in: 1...40, using: &random), using: &random)
            var target = Target(present: Set(daemons))
            target.settle(keys: keys, rounds: 3, using: &random)
            for key in keys {
                XCTAssertEqual(target.holders[key], LinkClaims.preferred(key: key, daemons: Set(daemons)), "seed \(random.seed)")
            }
        }
    }

    func testADeadDaemonsLinksAreTakenWithinTwoLooksAndNoOtherLinkMoves() {
        var random = SeededGenerator(seed: 9102)
        for _ in 0..<50 {
            let daemons = randomKeys(Int.random(in: 2...5, using: &random), using: &random)
            let keys = randomKeys(Int.random(in: 5...40, using: &random), using: &random)
            var target = Target(present: Set(daemons))
            target.settle(keys: keys, rounds: 3, using: &random)
            let before = target.holders
            let dead = daemons.randomElement(using: &random)!
            target.kill(dead)
            target.settle(keys: keys, rounds: 2, using: &random)
            for key in keys {
                XCTAssertNotNil(target.holders[key], "link \(key) taken over")
                XCTAssertNotEqual(target.holders[key], dead)
                if before[key] != dead { XCTAssertEqual(target.holders[key], before[key], "a survivor's link stayed") }
            }
        }
    }

    func testANewDaemonGetsItsShareFromTheOthers() {
        var random = SeededGenerator(seed: 9103)
        let keys = randomKeys(300, using: &random)
        let daemons = randomKeys(3, using: &random)
        var target = Target(present: [daemons[0]])
        target.settle(keys: keys, rounds: 1, using: &random)
        XCTAssertEqual(Set(target.holders.values), [daemons[0]], "one daemon alone holds every link")
        target.present.formUnion(daemons)
        target.settle(keys: keys, rounds: 3, using: &random)
        for daemon in daemons {
            let share = target.holders.values.filter { $0 == daemon }.count
            XCTAssertTrue((60...140).contains(share), "daemon \(daemon) holds \(share) of 300")
        }
        XCTAssertEqual(target.holders.count, 300)
    }

    func testAloneADaemonKeepsALinkWhoseSourceIsDownWithOthersItLetsItGo() {
        let key: Int32 = 77
        let alone = LinkClaims.plan(
            me: 1, daemons: [1], claims: [LinkClaims.Claim(key: key, holder: .me, sourceReachable: false)])
        XCTAssertEqual(alone, [])
        let shared = LinkClaims.plan(
            me: 1, daemons: [1, 2], claims: [LinkClaims.Claim(key: key, holder: .me, sourceReachable: false)])
        XCTAssertEqual(shared, [.release(key, to: nil)])
        let free = LinkClaims.plan(
            me: 1, daemons: [1, 2], claims: [LinkClaims.Claim(key: key, holder: .free, freeBefore: true, sourceReachable: false)])
        XCTAssertEqual(free, [], "a daemon that cannot reach the source does not take its link")
    }

    func testAPreferredDaemonThatCannotReachTheSourceGetsTheLinkOnceNotOverAndOver() {
        var random = SeededGenerator(seed: 9104)
        let key: Int32 = 4242
        // The daemon preferred for the link cannot reach its source.
        let preferred: Int32 = 11
        let other = ([Int32](12...40)).first { LinkClaims.preferred(key: key, daemons: [preferred, $0]) == preferred }!
        var target = Target(present: [preferred, other], unreachable: [preferred: [key]])
        target.holders[key] = other
        var holders: [Int32?] = []
        for _ in 0..<12 {
            target.settle(keys: [key], rounds: 1, using: &random)
            holders.append(target.holders[key])
        }
        XCTAssertEqual(holders.suffix(6), Array(repeating: other, count: 6), "settled with the daemon that can reach it: \(holders)")
    }
}

extension LinkClaimsTests {
    /// docs/operations.md tells DBAs these numbers: they are part of what the project promises.
    /// A source's lock key is the same in every target; its links rank the daemons by a key of
    /// their own, so that with four sites (three links per target, one key per source) three
    /// daemons do not often leave all twelve to one of them.
    func testASourcesLinksIntoSeveralTargetsSpreadOverTheDaemons() {
        var random = SeededGenerator(seed: 9107)
        let sites = ["web", "store-a", "store-b", "store-c"]
        var allToOne = 0
        for _ in 0..<300 {
            let daemons = Set(randomKeys(3, using: &random))
            var preferred: Set<Int32> = []
            for target in sites {
                for source in sites where source != target {
                    let claim = LinkClaims.Claim(
                        key: AdvisoryKey.link(source: source), rank: AdvisoryKey.rank(source: source, target: target),
                        holder: .free)
                    if let best = LinkClaims.preferred(key: claim.rank, daemons: daemons) { preferred.insert(best) }
                }
            }
            if preferred.count == 1 { allToOne += 1 }
        }
        // By source alone, one daemon in 27 would get every link (about 11 of 300); by link, one in
        // 177,000.
        XCTAssertEqual(allToOne, 0, "seed \(random.seed)")
        XCTAssertNotEqual(
            AdvisoryKey.rank(source: "web", target: "store-a"), AdvisoryKey.rank(source: "web", target: "store-b"))
    }

    func testTheAdvisoryLockClassesAreTheDocumentedOnes() {
        XCTAssertEqual(AdvisoryKey.daemonClass, 612_292_917)
        XCTAssertEqual(AdvisoryKey.linkClass, 1_685_827_561)
        XCTAssertEqual(AdvisoryKey.link(source: "web"), AdvisoryKey.hash("link from web"))
        XCTAssertGreaterThanOrEqual(AdvisoryKey.hash("é"), 0, "keys are positive as int and as oid")
    }
}
