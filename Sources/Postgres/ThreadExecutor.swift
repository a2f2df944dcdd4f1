import CLibPQ
import Dispatch
import Foundation
import Synchronization

/// A serial executor backed by one dedicated, named OS thread.
///
/// Actors that make blocking libpq calls run on it, so those calls never occupy a thread of Swift's
/// cooperative pool (which is only as wide as the CPU count). The thread ends once the executor is
/// released and its queued jobs have run.
public final class ThreadExecutor: SerialExecutor {
    private let queue = JobQueue()

    /// - Parameter name: the OS thread name (at most 15 bytes are kept), visible in `top -H` and `ps -L`.
    public init(name: String) {
        queue.setExecutor(UnownedSerialExecutor(ordinary: self))
        let queue = self.queue
        let thread = Thread {
            _ = omnisync_set_thread_name(name)
            queue.run()
        }
        thread.start()
    }

    deinit {
        queue.close()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job))
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}

/// The jobs waiting for a `ThreadExecutor`'s thread, in arrival order.
private final class JobQueue: Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var closed = false
        // Unowned: the thread must not keep its executor alive, or the executor would never be released.
        var executor: UnownedSerialExecutor?
    }

    private let state = Mutex(State())
    /// Signalled once per job and once on close, so the thread sleeps while there is nothing to do.
    private let available = DispatchSemaphore(value: 0)

    func setExecutor(_ executor: UnownedSerialExecutor) {
        state.withLock { $0.executor = executor }
    }

    func push(_ job: UnownedJob) {
        state.withLock { $0.jobs.append(job) }
        available.signal()
    }

    func close() {
        state.withLock { $0.closed = true }
        available.signal()
    }

    func run() {
        while true {
            available.wait()
            let next = state.withLock { state -> (UnownedJob, UnownedSerialExecutor)? in
                guard !state.jobs.isEmpty, let executor = state.executor else { return nil }
                return (state.jobs.removeFirst(), executor)
            }
            if let (job, executor) = next {
                job.runSynchronously(on: executor)
            } else if state.withLock({ $0.closed && $0.jobs.isEmpty }) {
                return
            }
        }
    }
}
