import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests that run the built binary: stdout and stderr go to files (so a chatty
/// child can never block on a full pipe), and it can be waited for with a timeout and signalled.
public final class Subprocess: Sendable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell convention: the exit status, or 128 + the signal number.
        public var code: Int32 {
            switch self {
            case .exited(let status): status
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    public let executable: String
    public let stdoutPath: String
    public let stderrPath: String
    private let termination = Mutex<Termination?>(nil)
    private let outputDirectory: String

    /// Starts `executable` with `arguments`. `environment` replaces the whole environment; nil
    /// inherits this process's. Signal dispositions and mask are reset to defaults in the child.
    public init(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil
    ) throws {
        var template = Array("\(NSTemporaryDirectory())/omnisync-subprocess.XXXXXX".utf8CString)
        guard let directory = mkdtemp(&template) else {
            throw Failure(description: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        outputDirectory = String(cString: directory)
        stdoutPath = outputDirectory + "/stdout"
        stderrPath = outputDirectory + "/stderr"
        self.executable = executable

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // Ignored signals survive exec: a test process that ignores SIGTERM must not pass that on.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let environment = environment ?? ProcessInfo.processInfo.environment
        // posix_spawn_file_actions_addchdir_np is not visible to Swift; env(1) changes directory and execs.
        let command = workingDirectory.map { ["/usr/bin/env", "-C", $0, "--", executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: outputDirectory)
            throw Failure(description: "cannot run \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
    }

    deinit {
        if termination.withLock({ $0 == nil }) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: outputDirectory)
    }

    /// Runs `executable` to completion and returns its termination and output.
    public static func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        timeout: Double = 60
    ) throws -> (termination: Termination, stdout: String, stderr: String) {
        let process = try Subprocess(executable, arguments: arguments, environment: environment)
        let termination = try process.wait(timeout: timeout)
        return (termination, process.stdout, process.stderr)
    }

    /// The environment of this process with `changes` applied (a nil value removes the variable).
    public static func environment(adding changes: [String: String?]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in changes { environment[key] = value }
        return environment
    }

    public func signal(_ signal: Int32) {
        if termination.withLock({ $0 == nil }) { kill(pid, signal) }
    }

    /// Waits for the child to end. On timeout, kills it with SIGKILL and throws (with its stderr).
    @discardableResult
    public func wait(timeout: Double) throws -> Termination {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var pause = 1_000  // µs; grows so a long wait costs little CPU
        while true {
            if let done = poll() { return done }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = try? wait(timeout: 5)
                throw Failure(
                    description: "\(executable) still running after \(timeout) s; stderr:\n\(stderr)")
            }
            usleep(useconds_t(pause))
            pause = min(pause * 2, 20_000)
        }
    }

    /// The termination, if the child has ended; reaps it.
    public func poll() -> Termination? {
        termination.withLock { termination in
            if let termination { return termination }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid else { return nil }
            let signal = status & 0x7f
            termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
            return termination
        }
    }

    public var isRunning: Bool { poll() == nil }

    public var stdout: String { Self.read(stdoutPath) }
    public var stderr: String { Self.read(stderrPath) }

    private static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
