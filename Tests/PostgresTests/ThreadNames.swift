import Foundation

/// Reads OS thread names from /proc, to check where work runs and that threads end.
enum ThreadNames {
    /// The name of the calling thread.
    static func current() -> String {
        read("/proc/thread-self/comm")
    }

    /// How many threads of this process carry `name`.
    static func count(_ name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { read("/proc/self/task/\($0)/comm") == name }.count
    }

    /// Waits up to `timeout` for `count(name)` to become `expected`.
    static func wait(for name: String, count expected: Int, timeout: Duration = .seconds(3)) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while count(name) != expected, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return count(name)
    }

    /// CPU time (user + system, in clock ticks) used so far by the threads named `name`.
    static func cpuTicks(_ name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { read("/proc/self/task/\($0)/comm") == name }.reduce(0) { total, task in
            // Fields after the parenthesized name: state is field 3, utime 14, stime 15.
            let stat = read("/proc/self/task/\(task)/stat")
            guard let close = stat.lastIndex(of: ")") else { return total }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return total }
            return total + user + system
        }
    }

    private static func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }
}
