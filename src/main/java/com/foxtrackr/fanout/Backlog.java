package com.foxtrackr.fanout;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

/**
 * What waits in the outbox, per sink: pending deliveries, when the oldest of them was received, dead letters;
 * and the rejected input. Read on its own connection for health, metrics and the status page, at most once a
 * second however often they ask (a count over a large backlog takes a moment).
 */
public class Backlog implements AutoCloseable {
    private static final long FRESH_MS = 1000;

    public record Sink(long pending, long oldestPendingReceivedMs, long dead) {
        static final Sink EMPTY = new Sink(0, 0, 0);
    }

    public record Snapshot(Map<String, Sink> sinks, long rejected, long takenMs) {
        public Sink sink(String name) {
            return sinks.getOrDefault(name, Sink.EMPTY);
        }
    }

    private final Connection db;
    private Snapshot last = new Snapshot(Map.of(), 0, 0);

    public Backlog(Path file) throws SQLException {
        db = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = db.createStatement()) {
            s.execute("PRAGMA busy_timeout=2000");
        }
    }

    public synchronized Snapshot snapshot() throws SQLException {
        long now = System.currentTimeMillis();
        if (now - last.takenMs() < FRESH_MS) {
            return last;
        }
        Map<String, long[]> counts = new TreeMap<>();
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT sink, state, count(*), min(message_id) FROM delivery GROUP BY sink, state")) {
            while (rs.next()) {
                long[] c = counts.computeIfAbsent(rs.getString(1), k -> new long[3]);
                if ("dead".equals(rs.getString(2))) {
                    c[2] = rs.getLong(3);
                } else {
                    c[0] += rs.getLong(3);
                    c[1] = c[1] == 0 ? rs.getLong(4) : Math.min(c[1], rs.getLong(4));
                }
            }
        }
        Map<String, Sink> sinks = new TreeMap<>();
        try (PreparedStatement received = db.prepareStatement("SELECT received_ms FROM message WHERE id = ?")) {
            for (var e : counts.entrySet()) {
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
        last = new Snapshot(sinks, rejected, now);
        return last;
    }

    @Override
    public synchronized void close() throws SQLException {
        db.close();
    }
}
