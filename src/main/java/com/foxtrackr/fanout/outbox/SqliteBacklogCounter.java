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

/** Counts what waits in an outbox file, on a connection of its own, so that a long count holds back no sink. */
final class SqliteBacklogCounter implements Backlog.Counter {
    private final Connection db;

    SqliteBacklogCounter(Path file) throws SQLException {
        db = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = db.createStatement()) {
            s.execute("PRAGMA busy_timeout=2000");
        }
    }

    @Override
    public Backlog.Counts count() throws SQLException {
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
        Map<String, Backlog.Sink> sinks = new TreeMap<>();
        try (PreparedStatement received = db.prepareStatement("SELECT received_ms FROM message WHERE id = ?")) {
            for (var e : bySink.entrySet()) {
                long oldest = 0;
                if (e.getValue()[0] > 0) {
                    received.setLong(1, e.getValue()[1]);
                    try (ResultSet rs = received.executeQuery()) {
                        oldest = rs.next() ? rs.getLong(1) : 0;
                    }
                }
                sinks.put(e.getKey(), new Backlog.Sink(e.getValue()[0], oldest, e.getValue()[2]));
            }
        }
        long rejected;
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM rejected")) {
            rejected = rs.getLong(1);
        }
        return new Backlog.Counts(sinks, rejected);
    }

    private static long oldest(long id, long other) {
        return id == 0 ? other : Math.min(id, other);
    }

    @Override
    public void close() throws SQLException {
        db.close();
    }
}
