package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.observe.Metrics;

/**
 * The durable outbox in a local SQLite file: each accepted message once, and for each sink a cursor, the last
 * message it has settled. The ingest route acknowledges a message to the broker only after {@link #storeAll} has
 * committed; each sink claims the messages beyond its cursor in batches ({@link SqliteClaims}), moves its cursor
 * past what it settled, and records a delivery row only for a message it could not deliver, a retry or a dead
 * letter ({@link Settlement}). A message goes once every cursor has passed it and no delivery row needs it
 * ({@link SqliteCursors}). (One delivery row per message and sink would cost six more B-tree entries per message,
 * written at ingest and deleted at delivery, for the few messages that ever fail.)
 */
public class SqliteOutbox implements Outbox {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
    /** The sinks this outbox knows: those configured, and those with deliveries left. */
    static final String KNOWN_SINKS = "SELECT sink FROM sink_cursor UNION SELECT DISTINCT sink FROM delivery ORDER BY 1";

    private final Path path;
    private final SqliteFile file;
    private final SqliteCursors cursors;
    private final SqliteClaims claims;
    private final Settlement settlement;
    private final SqliteRetention retention;
    private final RepeatKeys seen;
    private volatile Map<String, Sink> sinks = Map.of();
    private Metrics metrics = Metrics.none();
    private final PreparedStatement insertMessage;
    private final PreparedStatement insertRejected;
    /** Whether {@link #sinksConfigured} has kept the sinks' places: before, a message would have no sink to wait for it. */
    private volatile boolean sinksConfigured;
    /** The sinks of the configuration (fanout.sinks), whose routes add them; null when the caller configures them itself. */
    private Set<String> expected;

    public SqliteOutbox(Path path, String synchronous, long repeatWindowMs, long deadLetterRetentionMs) throws SQLException {
        this.path = path;
        file = SqliteFile.open(path, synchronous);
        seen = file.write(RepeatKeys::new);
        cursors = new SqliteCursors(file);
        claims = new SqliteClaims(file, cursors, this::sink);
        settlement = new Settlement(file, cursors, SqliteSchema.PASSED_BY_EVERY_CURSOR + " AND", this::sink);
        retention = new SqliteRetention(file, seen, repeatWindowMs, deadLetterRetentionMs);
        insertMessage = file.write(db -> db.prepareStatement(
                "INSERT INTO message (key, topic, kind, device_id, time_ms, received_ms, payload, sinks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
        insertRejected = file.write(db -> db.prepareStatement("INSERT INTO rejected (topic, reason, received_ms, payload) VALUES (?, ?, ?, ?)"));
    }

    @Override
    public void metrics(Metrics metrics) {
        this.metrics = metrics;
        settlement.metrics(metrics);
    }

    @Override
    public void expectSinks(Collection<String> names) {
        expected = Set.copyOf(names);
    }

    /**
     * At start-up, before any route runs; then {@link #sinksConfigured}. A sink new to this outbox starts after
     * the last message stored: the messages before it came were not for it.
     */
    @Override
    public void addSink(Sink sink) {
        if (expected != null && !expected.contains(sink.name())) {
            throw new ConfigException("fanout.sinks", "does not list '" + sink.name() + "', which a route reads with from: outbox:"
                    + sink.name() + " (listed: " + String.join(", ", new TreeSet<>(expected)) + ")");
        }
        if (sinks.containsKey(sink.name())) {
            throw new ConfigException("fanout.sink." + sink.name() + ".type", "has two routes reading from outbox:" + sink.name()
                    + ": one route per sink");
        }
        try {
            cursors.start(sink.name());
        } catch (SQLException e) {
            throw new IllegalStateException("the outbox cannot keep the place of sink " + sink.name() + ": " + e.getMessage(), e);
        }
        Map<String, Sink> added = new LinkedHashMap<>(sinks);
        added.put(sink.name(), sink);
        sinks = java.util.Collections.unmodifiableMap(added);
        if (expected != null && sinks.keySet().containsAll(expected)) {
            try {
                sinksConfigured();
            } catch (SQLException e) {
                throw new IllegalStateException("the outbox cannot keep the sinks' places: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public Sink sink(String name) {
        return sinks.get(name);
    }

    /** Once every sink is added (not for a check of the configuration): see {@link SqliteCursors#keepOnly}. */
    @Override
    public void sinksConfigured() throws SQLException {
        Map<String, Integer> kept = cursors.keepOnly(sinks.keySet());
        sinksConfigured = true;
        kept.forEach((sink, n) -> LOG.warn("sink={} event=not-configured pending={} note=\"kept until the sink "
                + "is configured again\"", sink, n));
    }

    /**
     * Ingest: stores messages (with the sinks that take each, if not all) and refused payloads in one
     * transaction; a repeated message is stored once. The broker is acknowledged only after this returns.
     */
    @Override
    public void storeAll(List<Incoming> batch) throws SQLException {
        if (!sinksConfigured) {
            throw new IllegalStateException("the outbox stores nothing before its sinks are configured");
        }
        int[] storedAndRejected = file.write(db -> {
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
            return new int[] {stored, rejected};
        });
        int stored = storedAndRejected[0];
        int rejected = storedAndRejected[1];
        metrics.ingested(stored, batch.size() - stored - rejected, rejected);
    }

    private void storeAccepted(Incoming message, String key, long now) throws SQLException {
        List<String> accepting = sinks.values().stream()
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
        insertMessage.setString(8, accepting.size() == sinks.size() ? null : String.join(",", accepting));
        insertMessage.executeUpdate();
    }

    @Override
    public Batch claim(String sinkName, int max) throws SQLException {
        return claims.claim(sinkName, max);
    }

    @Override
    public Batch claimArchive(String sinkName, int max, long maxAgeMs) throws SQLException {
        return claims.claimArchive(sinkName, max, maxAgeMs);
    }

    @Override
    public void delivered(String sinkName, Batch batch) throws SQLException {
        settlement.delivered(sinkName, batch);
    }

    @Override
    public void delivered(String sinkName, Batch batch, Map<Long, String> refused) throws SQLException {
        settlement.delivered(sinkName, batch, refused);
    }

    @Override
    public void failed(String sinkName, Batch batch, Exception error, boolean permanent) throws SQLException {
        settlement.failed(sinkName, batch, error, permanent);
    }

    @Override
    public Batch hold(String sinkName, Batch batch, long holdMs) throws SQLException {
        return settlement.hold(sinkName, batch, holdMs);
    }

    @Override
    public void settle(String sinkName, Batch batch, Collection<Outcome> outcomes) throws SQLException {
        settlement.settle(sinkName, batch, outcomes);
    }

    @Override
    public void maintain() throws SQLException {
        retention.maintain();
    }

    @Override
    public long pending(String sinkName) throws SQLException {
        return file.write(db -> {
            try (PreparedStatement q = db.prepareStatement("SELECT count(*) FROM outstanding WHERE sink = ? AND state = 'pending'")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
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
