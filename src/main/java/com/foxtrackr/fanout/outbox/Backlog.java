package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What waits in the outbox, per sink: pending deliveries, when the oldest of them was received, dead letters;
 * and the rejected input. Read on its own connection for health, metrics and the status page. Counting a large
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

    private final Connection db;
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

    public Backlog(Path file) throws SQLException {
        db = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = db.createStatement()) {
            s.execute("PRAGMA busy_timeout=2000");
        }
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
        // per sink: pending, the oldest pending message's id, dead
        Map<String, long[]> bySink = new TreeMap<>();
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT sink, state, count(*), min(message_id) FROM delivery GROUP BY sink, state")) {
            while (rs.next()) {
                long[] c = bySink.computeIfAbsent(rs.getString(1), k -> new long[3]);
                if ("dead".equals(rs.getString(2))) {
                    c[2] = rs.getLong(3);
                } else {
                    c[0] += rs.getLong(3);
                    c[1] = oldest(c[1], rs.getLong(4));
                }
            }
        }
        // The messages beyond a sink's cursor are all there (a message goes only once every cursor has passed it),
        // so they are counted from the ids, less those marked for other sinks: without reading the messages.
        long lastId;
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery(SqliteSchema.LAST_MESSAGE_ID)) {
            lastId = rs.getLong(1);
        }
        try (Statement s = db.createStatement();
             ResultSet cursors = s.executeQuery("SELECT sink, through FROM sink_cursor");
             PreparedStatement notForIt = db.prepareStatement("SELECT count(*) FROM message WHERE sinks IS NOT NULL AND id > ?2 "
                     + "AND NOT " + SqliteSchema.takenBy("message", "?1"));
             PreparedStatement firstForIt = db.prepareStatement("SELECT id FROM message WHERE id > ?2 "
                     + "AND " + SqliteSchema.takenBy("message", "?1") + " ORDER BY id LIMIT 1")) {
            while (cursors.next()) {
                String sink = cursors.getString(1);
                long through = cursors.getLong(2);
                if (through >= lastId) {
                    continue;
                }
                long[] c = bySink.computeIfAbsent(sink, k -> new long[3]);
                notForIt.setString(1, sink);
                notForIt.setLong(2, through);
                try (ResultSet rs = notForIt.executeQuery()) {
                    c[0] += lastId - through - rs.getLong(1);
                }
                firstForIt.setString(1, sink);
                firstForIt.setLong(2, through);
                try (ResultSet rs = firstForIt.executeQuery()) {
                    if (rs.next()) {
                        c[1] = oldest(c[1], rs.getLong(1));
                    }
                }
            }
        }
        Map<String, Sink> sinks = new TreeMap<>();
        try (PreparedStatement received = db.prepareStatement("SELECT received_ms FROM message WHERE id = ?")) {
            for (var e : bySink.entrySet()) {
                long oldest = 0;
                if (e.getValue()[0] > 0) {
                    received.setLong(1, e.getValue()[1]);
                    try (ResultSet rs = received.executeQuery()) {
                        oldest = rs.next() ? rs.getLong(1) : 0;
                    }
                }
                sinks.put(e.getKey(), new Sink(e.getValue()[0], oldest, e.getValue()[2]));
            }
        }
        long rejected;
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM rejected")) {
            rejected = rs.getLong(1);
        }
        long now = System.currentTimeMillis();
        last = new Snapshot(sinks, rejected, now, now - started);
        counts.incrementAndGet();
        return last;
    }

    private static long oldest(long id, long other) {
        return id == 0 ? other : Math.min(id, other);
    }

    @Override
    public void close() throws SQLException {
        background.shutdownNow();
        synchronized (this) {
            db.close();
        }
    }
}
