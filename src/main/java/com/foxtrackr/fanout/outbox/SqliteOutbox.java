package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/**
 * The durable outbox in a local SQLite file: each accepted message once, and for each sink a cursor, the last
 * message it has settled. The ingest route acknowledges a message to the broker only after {@link #storeAll} has
 * committed; each sink claims the messages beyond its cursor in batches ({@link SqliteClaims}), moves its cursor
 * past what it settled, and records a delivery row only for a message it could not deliver, a retry or a dead
 * letter ({@link Settlement}). A message goes once every cursor has passed it and no delivery row needs it
 * ({@link SqliteCursors}). (One delivery row per message and sink would cost six more B-tree entries per message,
 * written at ingest and deleted at delivery, for the few messages that ever fail.)
 */
public class SqliteOutbox extends StoreOutbox {
    /** The sinks this outbox knows: those configured, and those with deliveries left. */
    static final String KNOWN_SINKS = "SELECT sink FROM sink_cursor UNION SELECT DISTINCT sink FROM delivery ORDER BY 1";

    private final Path path;
    private final SqliteFile file;
    private final SqliteCursors cursors;
    private final RepeatKeys seen;
    private final PreparedStatement insertMessage;
    private final PreparedStatement insertRejected;

    public SqliteOutbox(Path path, String synchronous, long repeatWindowMs, long deadLetterRetentionMs) throws SQLException {
        this.path = path;
        db = file = SqliteFile.open(path, synchronous);
        seen = file.write(RepeatKeys::new);
        cursors = new SqliteCursors(file);
        claims = new SqliteClaims(file, cursors, this::sink);
        settlement = new Settlement(file, cursors, SqliteSchema.PASSED_BY_EVERY_CURSOR + " AND", false, this::sink);
        retention = new Retention(file, seen, SqliteSchema.PASSED_BY_EVERY_CURSOR + " AND", repeatWindowMs, deadLetterRetentionMs);
        insertMessage = file.write(db -> db.prepareStatement(
                "INSERT INTO message (key, topic, kind, device_id, time_ms, received_ms, payload, sinks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
        insertRejected = file.write(db -> db.prepareStatement("INSERT INTO rejected (topic, reason, received_ms, payload) VALUES (?, ?, ?, ?)"));
    }

    /**
     * At start-up, before any route runs; then {@link #sinksConfigured}. A sink new to this outbox starts after
     * the last message stored: the messages before it came were not for it.
     */
    @Override
    public void addSink(Sink sink) {
        sinks.check(sink);
        try {
            cursors.start(sink.name());
        } catch (SQLException e) {
            throw new IllegalStateException("the outbox cannot keep the place of sink " + sink.name() + ": " + e.getMessage(), e);
        }
        added(sink);
    }

    /** The new sinks' cursors are kept; see {@link SqliteCursors#keepOnly}. */
    @Override
    Map<String, Integer> keepWorkOfOtherSinks() throws SQLException {
        return cursors.keepOnly(sinks.all().keySet());
    }

    @Override
    Stored store(List<Incoming> batch) throws SQLException {
        return file.write(db -> {
            long now = System.currentTimeMillis();
            int stored = 0;
            int rejected = 0;
            for (Incoming message : batch) {
                byte[] key = RepeatKeys.keyBytes(message.payload());
                if (!seen.mark(message.timeMs(), key, now)) {
                    continue;
                }
                if (message.rejectReason() != null) {
                    insertRejected.setString(1, message.topic());
                    insertRejected.setString(2, message.rejectReason());
                    insertRejected.setLong(3, now);
                    insertRejected.setBytes(4, message.payload());
                    insertRejected.executeUpdate();
                    rejected++;
                } else {
                    storeAccepted(message, RepeatKeys.HEX.formatHex(key), now);
                    stored++;
                }
            }
            return new Stored(stored, rejected);
        });
    }

    private void storeAccepted(Incoming message, String key, long now) throws SQLException {
        List<String> accepting = sinks.all().values().stream()
                .filter(s -> s.accepts(message.kind(), message.messageType(), message.topic())).map(Sink::name).toList();
        if (accepting.isEmpty()) {
            return;
        }
        insertMessage.setString(1, key);
        insertMessage.setString(2, message.topic());
        insertMessage.setString(3, message.kind());
        insertMessage.setString(4, message.deviceId());
        insertMessage.setLong(5, message.timeMs());
        insertMessage.setLong(6, now);
        insertMessage.setBytes(7, message.payload());
        insertMessage.setString(8, accepting.size() == sinks.all().size() ? null : String.join(",", accepting));
        insertMessage.executeUpdate();
    }

    @Override
    public Backlog backlog() throws SQLException {
        return new Backlog(new SqliteBacklogCounter(path));
    }

    /** The dead-letter queues, for the HTTP API: their changes are transactions of this outbox, under its write lock. */
    @Override
    public DeadLetters deadLetters() {
        return new DeadLetters(file, false, KNOWN_SINKS, SqliteSchema.PASSED_BY_EVERY_CURSOR + " AND");
    }

    @Override
    public void close() throws SQLException {
        file.close();
    }
}
