import Catalog
import XCTest

/// A `numeric(p,s)` counter counts in units of 10⁻ˢ: the text of a unit count and the unit count
/// of a text are inverse, exactly, and types are read as PostgreSQL's `format_type` prints them.
final class CounterScaleTests: XCTestCase {
    func testTypesGiveTheirPrecisionAndScale() {
        XCTAssertEqual(SQLType("numeric(14,3)").numericPrecisionAndScale?.precision, 14)
        XCTAssertEqual(SQLType("numeric(14,3)").numericPrecisionAndScale?.scale, 3)
        XCTAssertEqual(SQLType("numeric(9)").numericPrecisionAndScale?.scale, 0)
        XCTAssertNil(SQLType("numeric").numericPrecisionAndScale)
        XCTAssertNil(SQLType("bigint").numericPrecisionAndScale)
        XCTAssertEqual(CounterScale(of: SQLType("numeric(12,3)")).decimals, 3)
        XCTAssertEqual(CounterScale(of: .bigint), .whole)
    }

    func testTextOfUnits() {
        let grams = CounterScale(decimals: 3)
        XCTAssertEqual(grams.text(units: 12_345), "12.345")
        XCTAssertEqual(grams.text(units: 12_000), "12.000")
        XCTAssertEqual(grams.text(units: 5), "0.005")
        XCTAssertEqual(grams.text(units: -5), "-0.005")
        XCTAssertEqual(grams.text(units: 0), "0.000")
        XCTAssertEqual(grams.text(units: .min), "-9223372036854775.808")
        XCTAssertEqual(CounterScale.whole.text(units: -42), "-42")
        XCTAssertEqual(grams.factorLiteral, "1000")
        XCTAssertEqual(CounterScale.whole.factorLiteral, "1")
    }

    func testUnitsOfTextRefuseMoreDecimalsOrOverflow() {
        let grams = CounterScale(decimals: 3)
        XCTAssertEqual(grams.units(of: "12.3"), 12_300)
        XCTAssertEqual(grams.units(of: "-0.005"), -5)
        XCTAssertEqual(grams.units(of: "7"), 7_000)
        XCTAssertEqual(grams.units(of: ".5"), 500)
        XCTAssertNil(grams.units(of: "0.0001"))
        XCTAssertNil(grams.units(of: "1e3"))
        XCTAssertNil(grams.units(of: ""))
        XCTAssertNil(grams.units(of: "-"))
        XCTAssertNil(grams.units(of: "9223372036854776"))
        XCTAssertEqual(grams.units(of: "-9223372036854775.808"), .min)
    }

    /// Round trips on seeded unit counts at every scale from 0 to 18.
    func testTextAndUnitsAreInverse() {
        var state: UInt64 = 0x5CA1E
        for decimals in 0...18 {
            let scale = CounterScale(decimals: decimals)
            for _ in 0..<500 {
                // splitmix64: a fixed sequence, so a failure names a value that reproduces.
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let units = Int64(truncatingIfNeeded: z) >> Int64(z % 60)
                XCTAssertEqual(scale.units(of: scale.text(units: units)), units, "\(units) at \(decimals) decimals")
            }
        }
    }
}
