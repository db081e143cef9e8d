package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * The dead-letter queues, as operators see them: one per sink (deliveries in state 'dead') and one for
 * rejected input. List, show, replay (back to pending: the sink's normal delivery path takes it) and
 * purge. Works on the outbox file directly, while the bundle runs or not.
 */
public class DeadLetters implements AutoCloseable {
    /** Which dead letters a command applies to; null fields match everything. */
    public record Selection(String sink, String deviceId, Instant from, Instant to) {
        /** From the words of an operator (command line or HTTP query); times are ISO-8601. */
        public static Selection of(String sink, String deviceId, String from, String to) {
            return new Selection(sink, deviceId, time("from", from), time("to", to));
        }

        private static Instant time(String name, String value) {
            try {
                return value == null || value.isBlank() ? null : Instant.parse(value);
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(name + " takes an ISO-8601 time such as 2026-11-26T10:00:00Z, not " + value);
            }
        }

        String where(List<Object> parameters) {
            StringBuilder sql = new StringBuilder(" WHERE d.state = 'dead'");
            if (sink != null) {
                sql.append(" AND d.sink = ?");
                parameters.add(sink);
            }
            if (deviceId != null) {
                sql.append(" AND m.device_id = ?");
                parameters.add(deviceId);
            }
            if (from != null) {
                sql.append(" AND m.time_ms >= ?");
                parameters.add(from.toEpochMilli());
            }
            if (to != null) {
                sql.append(" AND m.time_ms < ?");
                parameters.add(to.toEpochMilli());
            }
            return sql.toString();
        }
    }

    /** A sink the outbox does not know: the HTTP API answers 404, the command line exits with 2. */
    public static class NoSuchSinkException extends IllegalArgumentException {
        NoSuchSinkException(String message) {
            super(message);
        }
    }

    private static final String REJECTED = "rejected";

    private final OutboxDb file;
    /** Whether this opened the database (a command), or uses the running outbox's. */
    private final boolean own;
    /** The sinks the store knows, by name. */
    private final String knownSinks;
    /** The condition, besides no delivery row, for a message to go once its dead letters are purged. */
    private final String messageUnneeded;

    /** For a command beside the bundle, running or not, on an outbox file. */
    public DeadLetters(Path outboxFile) throws SQLException {
        this(SqliteFile.existing(outboxFile), true, SqliteOutbox.KNOWN_SINKS, SqliteSchema.PASSED_BY_EVERY_CURSOR + " AND");
    }

    /** For a command beside the bundles, running or not, on their PostgreSQL outbox. */
    public static DeadLetters onPostgres(String url, String user, String password) throws SQLException {
        PostgresDb db = new PostgresDb(url, user, password, 2);
        PostgresSchema.create(db);
        return new DeadLetters(db, true, PostgresOutbox.KNOWN_SINKS, "");
    }

    DeadLetters(OutboxDb db, boolean own, String knownSinks, String messageUnneeded) {
        this.file = db;
        this.own = own;
        this.knownSinks = knownSinks;
        this.messageUnneeded = messageUnneeded;
    }

    public record Count(String sink, String reason, long count, String last) {
    }

    public record Entry(long id, String topic, String received, int attempts, String firstError, String firstErrorAt,
            String lastError, String lastErrorAt) {
    }

    /** Counts per sink and reason, rejected input included (as sink "rejected"). */
    public List<Count> counts() throws SQLException {
        return file.read(db -> {
            List<Count> counts = new ArrayList<>();
            try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("""
                    SELECT sink, last_error, count(*), max(last_error_ms) FROM delivery WHERE state = 'dead'
                    GROUP BY sink, last_error
                    UNION ALL
                    SELECT 'rejected', reason, count(*), max(received_ms) FROM rejected GROUP BY reason
                    ORDER BY 1, 3 DESC""")) {
                while (rs.next()) {
                    counts.add(new Count(rs.getString(1), rs.getString(2), rs.getLong(3), time(rs.getLong(4))));
                }
            }
            return counts;
        });
    }

    /** The sinks the outbox knows: those configured, and those with deliveries left. */
    List<String> sinks() throws SQLException {
        return file.read(db -> {
            List<String> sinks = new ArrayList<>();
            try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(knownSinks)) {
                while (rs.next()) {
                    sinks.add(rs.getString(1));
                }
            }
            return sinks;
        });
    }

    /** A sink named in a command must be one the outbox knows (or the rejected input, where it has a meaning). */
    private void checkSink(String sink, boolean rejectedToo) throws SQLException {
        if (sink == null || rejectedToo && REJECTED.equals(sink)) {
            return;
        }
        if (REJECTED.equals(sink)) {
            throw new IllegalArgumentException("rejected input cannot be replayed: ingest refused it; see it with"
                    + " 'dlq show rejected', and remove it with 'dlq purge --sink rejected'");
        }
        List<String> sinks = sinks();
        if (!sinks.contains(sink)) {
            throw new NoSuchSinkException("no sink '" + sink + "': the sinks are " + String.join(", ", sinks)
                    + (rejectedToo ? ", and 'rejected' for the rejected input" : ""));
        }
    }

    /** The entries of one sink (or "rejected"), newest first, at most limit. */
    public List<Entry> entries(String sink, int limit) throws SQLException {
        checkSink(sink, true);
        boolean rejected = REJECTED.equals(sink);
        String sql = rejected
                ? "SELECT id, topic, received_ms, 1, reason, received_ms, reason, received_ms FROM rejected ORDER BY id DESC LIMIT ?"
                : """
                SELECT d.message_id, m.topic, m.received_ms, d.attempts, d.first_error, d.first_error_ms, d.last_error,
                       d.last_error_ms
                FROM delivery d JOIN message m ON m.id = d.message_id
                WHERE d.state = 'dead' AND d.sink = ? ORDER BY d.message_id DESC LIMIT ?""";
        return file.read(db -> {
            List<Entry> entries = new ArrayList<>();
            try (PreparedStatement q = db.prepareStatement(sql)) {
                if (rejected) {
                    q.setInt(1, limit);
                } else {
                    q.setString(1, sink);
                    q.setInt(2, limit);
                }
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        entries.add(new Entry(rs.getLong(1), rs.getString(2), time(rs.getLong(3)), rs.getInt(4), rs.getString(5),
                                time(rs.getLong(6)), rs.getString(7), time(rs.getLong(8))));
                    }
                }
            }
            return entries;
        });
    }

    // The HTTP API's words: query parameters as strings, answers as small JSON objects.

    public List<Entry> newest(String sink, String limit) throws SQLException {
        try {
            return entries(sink, limit == null ? 20 : Integer.parseInt(limit));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("limit takes a whole number, not " + limit);
        }
    }

    public java.util.Map<String, Integer> replay(String sink, String deviceId, String from, String to) throws SQLException {
        return java.util.Map.of("replayed", replay(Selection.of(sink, deviceId, from, to)));
    }

    public java.util.Map<String, Integer> purgeAnswer(String sink, String deviceId, String from, String to) throws SQLException {
        return java.util.Map.of("purged", purge(sink, deviceId, from, to));
    }

    private static String time(long ms) {
        return Instant.ofEpochMilli(ms).toString();
    }

    /** The original payload of one entry, byte for byte; null when there is none. */
    public byte[] payload(String sink, long id) throws SQLException {
        checkSink(sink, true);
        String sql = "rejected".equals(sink) ? "SELECT payload FROM rejected WHERE id = ?"
                : "SELECT m.payload FROM delivery d JOIN message m ON m.id = d.message_id"
                        + " WHERE d.message_id = ? AND d.sink = ? AND d.state = 'dead'";
        return file.read(db -> {
            try (PreparedStatement q = db.prepareStatement(sql)) {
                q.setLong(1, id);
                if (!"rejected".equals(sink)) {
                    q.setString(2, sink);
                }
                try (ResultSet rs = q.executeQuery()) {
                    return rs.next() ? rs.getBytes(1) : null;
                }
            }
        });
    }

    /** Makes the selected dead deliveries pending again, with fresh attempts; returns how many. */
    public int replay(Selection selection) throws SQLException {
        checkSink(selection.sink(), false);
        List<Object> parameters = new ArrayList<>();
        String where = selection.where(parameters);
        return file.write(db -> update(db, "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_ms = 0 WHERE (message_id, sink) IN"
                + " (SELECT d.message_id, d.sink FROM delivery d JOIN message m ON m.id = d.message_id" + where + ")", parameters));
    }

    /** Deletes the selected dead deliveries, and their messages when no sink still needs them; returns how many. */
    public int purge(Selection selection) throws SQLException {
        List<Object> parameters = new ArrayList<>();
        String where = selection.where(parameters);
        return file.write(db -> {
            int n = update(db, "DELETE FROM delivery WHERE (message_id, sink) IN"
                    + " (SELECT d.message_id, d.sink FROM delivery d JOIN message m ON m.id = d.message_id" + where + ")", parameters);
            update(db, "DELETE FROM message WHERE " + messageUnneeded
                    + " NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = message.id)", List.of());
            return n;
        });
    }

    /** Purges a sink's dead letters, or with sink "rejected" the rejected input received in the window. */
    public int purge(String sink, String deviceId, String from, String to) throws SQLException {
        checkSink(sink, true);
        Selection selection = Selection.of(sink, deviceId, from, to);
        return "rejected".equals(sink) ? purgeRejected(selection.from(), selection.to()) : purge(selection);
    }

    /** Deletes rejected input received in the window (all of it without one); returns how many. */
    private int purgeRejected(Instant from, Instant to) throws SQLException {
        return file.write(db -> update(db, "DELETE FROM rejected WHERE received_ms >= ? AND received_ms < ?",
                List.of(from == null ? Long.MIN_VALUE : from.toEpochMilli(), to == null ? Long.MAX_VALUE : to.toEpochMilli())));
    }

    private static int update(Connection db, String sql, List<Object> parameters) throws SQLException {
        try (PreparedStatement statement = db.prepareStatement(sql)) {
            for (int i = 0; i < parameters.size(); i++) {
                statement.setObject(i + 1, parameters.get(i));
            }
            return statement.executeUpdate();
        }
    }

    @Override
    public void close() throws SQLException {
        if (own) {
            file.close();
        }
    }
}
