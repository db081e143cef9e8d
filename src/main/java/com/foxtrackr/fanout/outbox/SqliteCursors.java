package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static com.foxtrackr.fanout.outbox.SqliteSchema.LAST_MESSAGE_ID;
import static com.foxtrackr.fanout.outbox.SqliteSchema.takenBy;

/**
 * The sinks' places in the outbox (the table sink_cursor): every message up to a sink's cursor that it takes is
 * delivered or has a delivery row. Moving a cursor removes the messages that every cursor has passed and no
 * delivery row needs. Kept in memory as committed; changed within the outbox's transactions.
 */
final class SqliteCursors {
    /**
     * A sink's place. An archive's batch being written ({@code batch} not 0) also covers the new messages up to
     * {@code batchThrough}.
     */
    record Cursor(long through, long batch, long batchThrough) {
    }

    private final SqliteFile file;
    private final Map<String, Cursor> cursors = new ConcurrentHashMap<>();
    /** Messages up to this id that no delivery row needs are gone; guarded by the write lock. */
    private long removedThrough;

    SqliteCursors(SqliteFile file) {
        this.file = file;
    }

    Cursor of(String sinkName) {
        return cursors.get(sinkName);
    }

    /** A sink's place as kept, or for a sink new to this outbox the last message stored: those before it came were not for it. */
    void start(String sinkName) throws SQLException {
        cursors.put(sinkName, file.write(db -> {
            try (PreparedStatement q = db.prepareStatement("SELECT through, batch, batch_through FROM sink_cursor WHERE sink = ?")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    if (rs.next()) {
                        return new Cursor(rs.getLong(1), rs.getLong(2), rs.getLong(3));
                    }
                }
            }
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery(LAST_MESSAGE_ID)) {
                return new Cursor(rs.getLong(1), 0, 0);
            }
        }));
    }

    /** Within a transaction: the sink's place, taken as its own once committed. */
    void save(Connection db, String sinkName, Cursor cursor) throws SQLException {
        try (PreparedStatement q = db.prepareStatement(
                "INSERT OR REPLACE INTO sink_cursor (sink, through, batch, batch_through) VALUES (?, ?, nullif(?, 0), nullif(?, 0))")) {
            q.setString(1, sinkName);
            q.setLong(2, cursor.through());
            q.setLong(3, cursor.batch());
            q.setLong(4, cursor.batchThrough());
            q.executeUpdate();
        }
        file.afterCommit(() -> cursors.put(sinkName, cursor));
    }

    /**
     * Within a transaction: the sink's cursor moves past {@code through}, and the messages that every cursor has
     * passed and no delivery row needs go.
     */
    Void move(Connection db, String sinkName, long through) throws SQLException {
        save(db, sinkName, new Cursor(through, 0, 0));
        long allThrough;
        // the lowest cursor: from the table, as committed (with this sink's new place)
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT min(through) FROM sink_cursor")) {
            allThrough = rs.getLong(1);
        }
        if (allThrough > removedThrough) {
            try (PreparedStatement remove = db.prepareStatement(
                    "DELETE FROM message WHERE id > ? AND id <= ? AND NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = message.id)")) {
                remove.setLong(1, removedThrough);
                remove.setLong(2, allThrough);
                remove.executeUpdate();
            }
            file.afterCommit(() -> removedThrough = allThrough);
        }
        return null;
    }

    /**
     * Once every sink is added: the new sinks' cursors are kept; a sink no longer configured keeps what it had
     * still to do as delivery rows, and its cursor goes, so that it holds back no later message. Returns how many
     * deliveries each such sink kept.
     */
    Map<String, Integer> keepOnly(Set<String> configured) throws SQLException {
        return file.write(db -> {
            try (PreparedStatement keep = db.prepareStatement("INSERT OR IGNORE INTO sink_cursor (sink, through) VALUES (?, ?)")) {
                for (var cursor : cursors.entrySet()) {
                    keep.setString(1, cursor.getKey());
                    keep.setLong(2, cursor.getValue().through());
                    keep.executeUpdate();
                }
            }
            Map<String, Long> unconfigured = new TreeMap<>();
            try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT sink, through FROM sink_cursor")) {
                while (rs.next()) {
                    if (!configured.contains(rs.getString(1))) {
                        unconfigured.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            Map<String, Integer> kept = new TreeMap<>();
            try (PreparedStatement keep = db.prepareStatement("""
                         INSERT OR IGNORE INTO delivery (message_id, sink, next_attempt_ms)
                         SELECT id, ?1, received_ms FROM message
                         WHERE id > ?2 AND\s""" + takenBy("message", "?1"));
                 PreparedStatement forget = db.prepareStatement("DELETE FROM sink_cursor WHERE sink = ?")) {
                for (var e : unconfigured.entrySet()) {
                    keep.setString(1, e.getKey());
                    keep.setLong(2, e.getValue());
                    kept.put(e.getKey(), keep.executeUpdate());
                    forget.setString(1, e.getKey());
                    forget.executeUpdate();
                }
            }
            return kept;
        });
    }
}
