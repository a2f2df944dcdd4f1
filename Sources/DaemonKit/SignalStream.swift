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
/// Creating one ignores the signals' default action (and `SIGPIPE` for good: a closed socket
/// must be an error, not death) and watches them with dispatch sources. When iteration ends the
/// sources are cancelled and the default actions come back. Keep one at a time per process.
public struct SignalStream: AsyncSequence, Sendable {
    public typealias Element = ProcessSignal

    private let stream: AsyncStream<ProcessSignal>

    public init(_ signals: [ProcessSignal] = ProcessSignal.allCases) {
        Self.ignoreBrokenPipe()
        let (stream, continuation) = AsyncStream.makeStream(of: ProcessSignal.self)
        let queue = DispatchQueue(label: "omnisync.signals")
        var created: [any DispatchSourceSignal] = []
        for processSignal in signals {
            // Without SIG_IGN first the default action (exit) would win the race with the source.
            signal(processSignal.number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: processSignal.number, queue: queue)
            source.setEventHandler {
                continuation.yield(processSignal)
            }
            source.resume()
            created.append(source)
        }
        let sources = Sources(created)
        continuation.onTermination = { _ in
            sources.cancelAll()
            for processSignal in signals {
                signal(processSignal.number, SIG_DFL)
            }
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
