import DaemonKit
import Foundation
import XCTest

final class MetricsTextTests: XCTestCase {
    func sampleSnapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        // Added out of order on purpose: the output is sorted.
        snapshot.gauge(
            "omnisync_site_up", help: "Whether the site is reachable (1) or not (0).", labels: ["site": "web"],
            value: 1)
        snapshot.counter(
            "omnisync_changes_applied", help: "Changes applied to a site.",
            labels: ["site": "web", "peer": "store-1"], value: 12)
        snapshot.gauge(
            "omnisync_site_up", help: "Whether the site is reachable (1) or not (0).", labels: ["site": "store-1"],
            value: 0)
        snapshot.counter(
            "omnisync_changes_applied_total", help: "Changes applied to a site.",
            labels: ["site": "store-1", "peer": "web"], value: 3)
        snapshot.gauge(
            "omnisync_oldest_undelivered_seconds", help: "Age of the oldest change not yet delivered.\nPer site.",
            labels: ["site": "we\"ird\\si\nte"], value: 0.25)
        snapshot.gauge("omnisync_backlog_changes", help: "Undelivered changes.", value: .infinity)
        return snapshot
    }

    func testGoldenOutput() {
        let expected = """
            # HELP omnisync_backlog_changes Undelivered changes.
            # TYPE omnisync_backlog_changes gauge
            omnisync_backlog_changes +Inf
            # HELP omnisync_changes_applied_total Changes applied to a site.
            # TYPE omnisync_changes_applied_total counter
            omnisync_changes_applied_total{peer="store-1",site="web"} 12
            omnisync_changes_applied_total{peer="web",site="store-1"} 3
            # HELP omnisync_oldest_undelivered_seconds Age of the oldest change not yet delivered.\\nPer site.
            # TYPE omnisync_oldest_undelivered_seconds gauge
            omnisync_oldest_undelivered_seconds{site="we\\"ird\\\\si\\nte"} 0.25
            # HELP omnisync_site_up Whether the site is reachable (1) or not (0).
            # TYPE omnisync_site_up gauge
            omnisync_site_up{site="store-1"} 0
            omnisync_site_up{site="web"} 1

            """
        XCTAssertEqual(MetricsText(sampleSnapshot()).text, expected)
    }

    func testRepeatedSeriesReplacesTheEarlierValue() {
        var snapshot = MetricsSnapshot()
        snapshot.counter("omnisync_rounds", help: "Rounds.", value: 1)
        snapshot.counter("omnisync_rounds", help: "Rounds.", value: 2)
        XCTAssertEqual(
            MetricsText.render(snapshot),
            "# HELP omnisync_rounds_total Rounds.\n# TYPE omnisync_rounds_total counter\nomnisync_rounds_total 2\n")
    }

    func testWritesAtomically() throws {
        let directory = NSTemporaryDirectory() + "omnisync-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/omnisync.prom"
        try "old".write(toFile: path, atomically: false, encoding: .utf8)

        let text = MetricsText(sampleSnapshot())
        try text.writeAtomically(path: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), text.text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["omnisync.prom"])
    }

    func testWriteFailureNamesThePath() {
        XCTAssertThrowsError(try MetricsText(MetricsSnapshot()).writeAtomically(path: "/nonexistent-dir/x.prom")) {
            error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent-dir/x.prom"), "\(error)")
        }
    }
}
