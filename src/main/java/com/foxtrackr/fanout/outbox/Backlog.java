package com.foxtrackr.fanout.outbox;

import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What waits in the outbox, per sink: pending deliveries, when the oldest of them was received, dead letters;
 * and the rejected input, counted by the store for health, metrics and the status page. Counting a large
 * backlog takes a while (about 0.2 s of CPU per million pending deliveries), so a count is reused for at least a
 * second and at least 20 times as long as it took, and the next one is taken in the background while callers
 * get the last: however large the backlog and however often they ask, counting takes at most a twentieth of a
 * core from the drain, and only the first caller ever waits for a count.
 */
public class Backlog implements AutoCloseable {
    private static final long FRESH_MS = 1000;
    private static final long REUSE_PER_COST = 20;

    public record Sink(long pending, long oldestPendingReceivedMs, long dead) {
        static final Sink EMPTY = new Sink(0, 0, 0);
    }

    public record Snapshot(Map<String, Sink> sinks, long rejected, long takenMs, long costMs) {
        public Sink sink(String name) {
            return sinks.getOrDefault(name, Sink.EMPTY);
        }

        /** Whether it is time for a new count. */
        public boolean due(long now) {
            return now - takenMs >= Math.max(FRESH_MS, REUSE_PER_COST * costMs);
        }
    }

    /** What waits, counted by the store (which may take a while). */
    interface Counter extends AutoCloseable {
        Counts count() throws SQLException;

        @Override
        void close() throws SQLException;
    }

    record Counts(Map<String, Sink> sinks, long rejected) {
    }

    private final Counter counter;
    private volatile Snapshot last;
    /** Why the last count in the background failed; cleared by the next that succeeds. */
    private volatile SQLException failed;
    private final AtomicBoolean counting = new AtomicBoolean();
    private final AtomicLong counts = new AtomicLong();
    private final ExecutorService background = Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "backlog-count");
        thread.setDaemon(true);
        return thread;
    });

    Backlog(Counter counter) {
        this.counter = counter;
    }

    /** The last count, and a new one started in the background if it is due; the first call counts. */
    public Snapshot snapshot() throws SQLException {
        Snapshot current = last;
        if (current == null) {
            return first();
        }
        if (current.due(System.currentTimeMillis()) && counting.compareAndSet(false, true)) {
            background.execute(() -> {
                try {
                    count();
                    failed = null;
                } catch (SQLException e) {
                    failed = e;
                } finally {
                    counting.set(false);
                }
            });
        }
        SQLException error = failed;
        if (error != null) {
            throw new SQLException(error.getMessage(), error);
        }
        return current;
    }

    /** A count taken now, in the caller's thread: for the last word at a stop. */
    public Snapshot countNow() throws SQLException {
        return count();
    }

    private synchronized Snapshot first() throws SQLException {
        return last != null ? last : count();
    }

    /** Counts taken so far. */
    public long counts() {
        return counts.get();
    }

    private synchronized Snapshot count() throws SQLException {
        long started = System.currentTimeMillis();
        Counts counts = counter.count();
        long now = System.currentTimeMillis();
        last = new Snapshot(counts.sinks(), counts.rejected(), now, now - started);
        this.counts.incrementAndGet();
        return last;
    }

    @Override
    public void close() throws SQLException {
        background.shutdownNow();
        synchronized (this) {
            counter.close();
        }
    }
}
