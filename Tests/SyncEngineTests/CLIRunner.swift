import Foundation
import XCTest

/// Runs the built `omnisync` executable: `$OMNISYNC_BIN`, or the one beside this test bundle in
/// the build products directory.
enum CLIRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["OMNISYNC_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let beside = Bundle(for: BundleToken.self).bundleURL.appendingPathComponent("omnisync")
        guard FileManager.default.isExecutableFile(atPath: beside.path) else {
            throw MissingBinary(path: beside.path)
        }
        return beside
    }

    /// Runs `omnisync ARGUMENTS`, collecting both streams through files so that neither can
    /// fill a pipe and stall the child; gives up after 30 seconds.
    static func run(_ arguments: [String]) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("omnisync-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "JOURNAL_STREAM")
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("omnisync \(arguments.joined(separator: " ")) did not finish within 30 s")
        }
        try out.close()
        try err.close()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    struct MissingBinary: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "no omnisync executable at \(path): build it first (swift build) or set OMNISYNC_BIN"
        }
    }

    private final class BundleToken {}
}
