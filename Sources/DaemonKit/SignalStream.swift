#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Delivers `SIGTERM`, `SIGINT` and `SIGHUP` as an async sequence, so a service's `run()` can
/// treat them like any other event.
///
/// The signals are watched with dispatch sources. On Linux, libdispatch takes over a watched
/// signal's disposition for the rest of the process (its handler forwards the signal to a
/// `signalfd`), so:
/// - until the first source is registered, the signal's default action (exit) is replaced by
///   "ignore", and creation waits for registration, so that a signal sent right after creating
///   the stream is delivered, not lost or fatal;
/// - a disposition libdispatch already installed is left alone (an earlier stream's), so
///   several streams, one after another or at once, each receive every signal;
/// - when iteration ends the sources are cancelled and the signals stay caught, and dropped,
///   for the life of the process.
///
/// Creating a stream also ignores `SIGPIPE` for good: a closed socket must be an error, not death.
public struct SignalStream: AsyncSequence, Sendable {
    public typealias Element = ProcessSignal

    private let stream: AsyncStream<ProcessSignal>

    public init(_ signals: [ProcessSignal] = ProcessSignal.allCases) {
        Self.ignoreBrokenPipe()
        let (stream, continuation) = AsyncStream.makeStream(of: ProcessSignal.self)
        let queue = DispatchQueue(label: "omnisync.signals")
        let registered = DispatchGroup()
        var created: [any DispatchSourceSignal] = []
        for processSignal in signals {
            Self.ignoreUntilWatched(processSignal.number)
            let source = DispatchSource.makeSignalSource(signal: processSignal.number, queue: queue)
            source.setEventHandler {
                continuation.yield(processSignal)
            }
            registered.enter()
            source.setRegistrationHandler {
                registered.leave()
            }
            source.resume()
            created.append(source)
        }
        // Registration takes microseconds; the bound only keeps a broken dispatch from
        // hanging startup.
        _ = registered.wait(timeout: .now() + .seconds(2))
        let sources = Sources(created)
        continuation.onTermination = { _ in
            sources.cancelAll()
        }
        self.stream = stream
    }

    public func makeAsyncIterator() -> AsyncStream<ProcessSignal>.Iterator {
        stream.makeAsyncIterator()
    }

    /// Writing to a peer that went away must fail with `EPIPE` instead of killing the daemon.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Replaces the default action (exit) with "ignore", so the signal cannot kill the process
    /// before its source is registered; any other disposition is libdispatch's and stays.
    private static func ignoreUntilWatched(_ number: Int32) {
        var current = sigaction()
        guard sigaction(number, nil, &current) == 0 else { return }
        if current.__sigaction_handler.sa_handler == nil {
            signal(number, SIG_IGN)
        }
    }

    /// Owns the dispatch sources until the stream ends.
    private final class Sources: Sendable {
        private let sources: Mutex<[any DispatchSourceSignal]>

        init(_ sources: sending [any DispatchSourceSignal]) {
            self.sources = Mutex(sources)
        }

        func cancelAll() {
            let all = sources.withLock { sources in
                defer { sources.removeAll() }
                return sources
            }
            for source in all {
                source.cancel()
            }
        }
    }
}
