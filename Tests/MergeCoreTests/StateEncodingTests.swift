import MergeCore
import TestSupport
import XCTest

/// Format 1 of the stored row state: every state a simulated site held reads back as itself, and
/// a state that is not well formed is refused with a reason, never read as something else.
final class StateEncodingTests: XCTestCase {
    func testEveryStateOfRandomHistoriesReadsBackAsItself() throws {
        for shape in [DeclaredRowSimulation.Shape.counted, .deletable, .deltasOnly] {
            for seed in try SeededGenerator.iterationSeeds(defaultSeed: 0x0E4C_0DE, defaultIterations: 20) {
                var rng = SeededGenerator(seed: seed)
                let history = DeclaredRowSimulation.history(shape: shape, steps: 80, using: &rng)
                let empty = DeclaredRowSimulation.emptyRow(shape)
                for row in history.archive {
                    let fields = StateEncoding.encode(row)
                    XCTAssertEqual(fields.count, expectedFieldCount(empty))
                    let decoded = try StateEncoding.decode(fields, empty: empty)
                    guard decoded == row else {
                        return XCTFail("\(shape) \(rng): \(row) read back as \(decoded)")
                    }
                }
            }
        }
    }

    func testTheFieldListNamesEveryEncodedField() {
        let empty = DeclaredRowSimulation.emptyRow(.counted)
        XCTAssertEqual(StateEncoding.encode(empty).count, expectedFieldCount(empty))
        XCTAssertEqual(StateEncoding.rowFields.first?.name, "state_format")
    }

    func testAStateOfAnotherFormatIsRefusedNamingItsFormat() {
        var fields = StateEncoding.encode(written())
        fields[0] = .integer(2)
        assertRefused(fields, containing: "state format 2")
        fields[0] = .integer(nil)
        assertRefused(fields, containing: "state format NULL")
    }

    func testMalformedStatesAreRefused() {
        let good = StateEncoding.encode(written())
        var cases: [(String, [StateField])] = []
        var shortVersions = good
        shortVersions[2] = .integers([])
        cases.append(("versions shorter than sites", shortVersions))
        var negative = good
        negative[2] = .integers([-1])
        cases.append(("negative version", negative))
        var wrongType = good
        wrongType[3] = .text("7")
        cases.append(("max_hlc as text", wrongType))
        cases.append(("truncated", Array(good.dropLast())))
        cases.append(("one field too many", good + [.text(nil)]))
        var unknownStatus = good
        let statusValue = StateEncoding.rowFields.count + 7 * 2 + 3 + 1 + 1
        unknownStatus[statusValue] = .text("shipped")
        cases.append(("status not in the list", unknownStatus))
        var futureStamp = good
        futureStamp[3] = .integer(0)
        cases.append(("stamps past the high-water mark", futureStamp))
        for (name, fields) in cases {
            XCTAssertThrowsError(try StateEncoding.decode(fields, empty: DeclaredRowSimulation.emptyRow(.counted)), name)
        }
    }

    private func written() -> ReplicatedRow {
        var row = DeclaredRowSimulation.emptyRow(.counted)
        _ = row.applyLocalWrite(
            site: "web", wallClock: 100, isInsert: true,
            writes: [(0, .delta(4)), (1, .delta(1)), (2, .value("9.99")), (3, .value("12")), (4, .value("b")), (5, .value("paid"))])
        row.applyLocalCount(site: "web", wallClock: 120, column: 0, counted: 3)
        return row
    }

    private func assertRefused(_ fields: [StateField], containing text: String, line: UInt = #line) {
        XCTAssertThrowsError(try StateEncoding.decode(fields, empty: DeclaredRowSimulation.emptyRow(.counted)), line: line) {
            XCTAssertTrue("\($0)".contains(text), "\($0)", line: line)
        }
    }

    private func expectedFieldCount(_ empty: ReplicatedRow) -> Int {
        StateEncoding.rowFields.count + empty.columns.map { StateEncoding.fields(of: $0).count }.reduce(0, +)
    }
}
