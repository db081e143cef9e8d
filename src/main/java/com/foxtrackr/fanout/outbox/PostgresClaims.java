package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * What a sink is given to deliver from a PostgreSQL outbox that several instances share: its due delivery rows,
 * oldest first, taken with row locks that skip what another instance is taking, and leased until settled (or, if
 * the instance dies, until the lease ends, when they are due again). An archive's batch keeps its id in its rows,
 * so that whichever instance retries it writes the same objects.
 */
final class PostgresClaims implements StoreOutbox.Claims {
    /** How long a claim keeps its rows from the other instances unless settled sooner (a per-message sink holds them anew). */
    static final long LEASE_MS = 30_000;

    private static final String ITEM_COLUMNS = "d.message_id, m.key, m.kind, m.topic, m.time_ms, m.payload, d.attempts, m.received_ms";

    private final OutboxDb db;
    private final Function<String, Sink> sinks;

    PostgresClaims(OutboxDb db, Function<String, Sink> sinks) {
        this.db = db;
        this.sinks = sinks;
    }

    @Override
    public Batch claim(String sinkName, int max) throws SQLException {
        Sink sink = sinks.apply(sinkName);
        long now = System.currentTimeMillis();
        if (!sink.mayDeliver(now)) {
            return Batch.EMPTY;
        }
        int limit = sink.oneAtATime() ? 1 : max;
        List<Batch.Item> items = db.write(c -> lease(c, sinkName, "AND d.batch IS NULL", now, limit));
        return new Batch(0, items, items.size() == max);
    }

    /**
     * Archive sink: an unfinished batch whose lease has ended (the same deliveries, so the same object names), else
     * a new batch once it is full or its oldest delivery has waited maxAgeMs.
     */
    @Override
    public Batch claimArchive(String sinkName, int max, long maxAgeMs) throws SQLException {
        Sink sink = sinks.apply(sinkName);
        long now = System.currentTimeMillis();
        if (!sink.mayDeliver(now)) {
            return Batch.EMPTY;
        }
        Batch unfinished = db.write(c -> {
            long batch;
            try (PreparedStatement q = c.prepareStatement("""
                    SELECT batch FROM delivery WHERE sink = ? AND state = 'pending' AND batch IS NOT NULL AND next_attempt_ms <= ?
                    ORDER BY batch LIMIT 1 FOR UPDATE SKIP LOCKED""")) {
                q.setString(1, sinkName);
                q.setLong(2, now);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    batch = rs.getLong(1);
                }
            }
            // another instance taking the same batch at this moment leases its rows first: these find none due
            return new Batch(batch, lease(c, sinkName, "AND d.batch = " + batch, now, Integer.MAX_VALUE), false);
        });
        if (unfinished != null) {
            return unfinished.isEmpty() ? Batch.EMPTY : unfinished;
        }
        if (!newBatchDue(sinkName, max, now - maxAgeMs, now)) {
            return Batch.EMPTY;
        }
        int limit = sink.oneAtATime() ? 1 : max;
        return db.write(c -> {
            List<Batch.Item> items = lease(c, sinkName, "AND d.batch IS NULL", now, limit);
            if (items.isEmpty()) {
                return Batch.EMPTY;
            }
            long id = items.get(0).messageId();
            try (PreparedStatement assign = c.prepareStatement("UPDATE delivery SET batch = ? WHERE sink = ? AND message_id = ANY (?)")) {
                assign.setLong(1, id);
                assign.setString(2, sinkName);
                assign.setArray(3, c.createArrayOf("bigint", items.stream().map(Batch.Item::messageId).toArray()));
                assign.executeUpdate();
            }
            return new Batch(id, items, items.size() == max);
        });
    }

    /** Whether a new archive batch is due: max deliveries wait, or the oldest was received by {@code receivedBefore}. */
    private boolean newBatchDue(String sinkName, int max, long receivedBefore, long now) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement full = c.prepareStatement("""
                         SELECT count(*) FROM (SELECT 1 FROM delivery WHERE sink = ? AND state = 'pending' AND batch IS NULL
                           AND next_attempt_ms <= ? LIMIT ?) waiting""");
                 PreparedStatement oldest = c.prepareStatement("""
                         SELECT m.received_ms FROM delivery d JOIN message m ON m.id = d.message_id
                         WHERE d.sink = ? AND d.state = 'pending' AND d.batch IS NULL AND d.next_attempt_ms <= ?
                         ORDER BY d.next_attempt_ms, d.message_id LIMIT 1""")) {
                full.setString(1, sinkName);
                full.setLong(2, now);
                full.setInt(3, max);
                try (ResultSet rs = full.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) == max) {
                        return true;
                    }
                }
                oldest.setString(1, sinkName);
                oldest.setLong(2, now);
                try (ResultSet rs = oldest.executeQuery()) {
                    return rs.next() && rs.getLong(1) <= receivedBefore;
                }
            }
        });
    }

    /**
     * Within a transaction: the sink's due rows that no other instance is taking (and meet {@code condition}), oldest
     * first, leased for {@link #LEASE_MS}.
     */
    private static List<Batch.Item> lease(Connection c, String sinkName, String condition, long now, int limit) throws SQLException {
        List<Batch.Item> items = new ArrayList<>();
        try (PreparedStatement q = c.prepareStatement("""
                WITH due AS (
                  SELECT d.message_id FROM delivery d
                  WHERE d.sink = ? AND d.state = 'pending' AND d.next_attempt_ms <= ? %s
                  ORDER BY d.next_attempt_ms, d.message_id LIMIT ? FOR UPDATE SKIP LOCKED)
                UPDATE delivery d SET next_attempt_ms = ?
                FROM due JOIN message m ON m.id = due.message_id
                WHERE d.sink = ? AND d.message_id = due.message_id
                RETURNING %s""".formatted(condition, ITEM_COLUMNS))) {
            q.setString(1, sinkName);
            q.setLong(2, now);
            q.setInt(3, limit);
            q.setLong(4, now + LEASE_MS);
            q.setString(5, sinkName);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    items.add(new Batch.Item(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                            rs.getBytes(6), rs.getInt(7), rs.getLong(8), true));
                }
            }
        }
        items.sort(Comparator.comparingLong(Batch.Item::messageId));
        return items;
    }
}
