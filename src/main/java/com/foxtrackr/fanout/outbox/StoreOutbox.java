package com.foxtrackr.fanout.outbox;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.observe.Metrics;

/**
 * What the two stores share: the sinks as their routes add them, and the parts each store makes on its database
 * (claims its own, settlement and retention alike), to which the outbox's calls go.
 */
abstract class StoreOutbox implements Outbox {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

    /** What a sink is given to deliver. */
    interface Claims {
        Batch claim(String sinkName, int max) throws SQLException;

        Batch claimArchive(String sinkName, int max, long maxAgeMs) throws SQLException;
    }

    final SinkSet sinks = new SinkSet();
    Metrics metrics = Metrics.none();
    /** Made by the store's constructor. */
    OutboxDb db;
    Claims claims;
    Settlement settlement;
    Retention retention;
    /** Whether the sinks are all there: before, a message would have no sink to wait for it. */
    private volatile boolean sinksConfigured;

    /** Once the sink is added: when it was the last one expected, the sinks are configured. */
    void added(Sink sink) {
        if (sinks.add(sink)) {
            try {
                sinksConfigured();
            } catch (SQLException e) {
                throw new IllegalStateException("the outbox cannot keep what the sinks have to do: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Once every sink is added (not for a check of the configuration): what a sink no longer configured still has
     * to do is kept until it is configured again, and holds back nothing else.
     */
    @Override
    public void sinksConfigured() throws SQLException {
        Map<String, ? extends Number> kept = keepWorkOfOtherSinks();
        sinksConfigured = true;
        kept.forEach((sink, n) -> LOG.warn("sink={} event=not-configured pending={} note=\"kept until the sink "
                + "is configured again\"", sink, n));
    }

    /** The deliveries kept, by sink, of the sinks no longer configured. */
    abstract Map<String, ? extends Number> keepWorkOfOtherSinks() throws SQLException;

    /**
     * Ingest: messages (each with the sinks that take it) and refused input in one transaction; a repeat is stored
     * once. The broker is acknowledged only after this returns.
     */
    @Override
    public void storeAll(List<Incoming> batch) throws SQLException {
        if (!sinksConfigured) {
            throw new IllegalStateException("the outbox stores nothing before its sinks are configured");
        }
        Stored stored = store(batch);
        metrics.ingested(stored.messages(), batch.size() - stored.messages() - stored.rejected(), stored.rejected());
    }

    /** How many messages and refused payloads a group stored, besides its repeats. */
    record Stored(int messages, int rejected) {
    }

    /** Within one transaction. */
    abstract Stored store(List<Incoming> batch) throws SQLException;

    @Override
    public void metrics(Metrics metrics) {
        this.metrics = metrics;
        settlement.metrics(metrics);
    }

    @Override
    public void expectSinks(Collection<String> names) {
        sinks.expect(names);
    }

    @Override
    public Sink sink(String name) {
        return sinks.get(name);
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
    public void failed(String sinkName, Batch batch, String reason) throws SQLException {
        settlement.failed(sinkName, batch, reason);
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
        return db.read(c -> {
            try (PreparedStatement q = c.prepareStatement("SELECT count(*) FROM outstanding WHERE sink = ? AND state = 'pending'")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }
}
