import GRDB

/// Runs a task's jobs on the SQLite writer's own queue (GRDB's writer), so that an ingest
/// transaction written as async code runs start to finish on the writer thread: its SQLite
/// calls are plain synchronous calls there, never on the Swift concurrency pool, and a batch
/// costs no hop between the pool and the writer per statement.
///
/// Used only inside `GroupCommitter.exclusively`, which guarantees that nothing else is queued
/// on the writer meanwhile.
final class SQLiteWriterExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the pool is thread-safe; the executor keeps no other state.
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.asyncWriteWithoutTransaction { _ in
            job.runSynchronously(on: executor)
        }
    }
}
