package com.foxtrackr.fanout.outbox;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static com.foxtrackr.fanout.outbox.SqliteSchema.takenBy;

/**
 * What a sink is given to deliver: its due delivery rows first, oldest first, then the new messages beyond its
 * cursor that it takes; for an archive, batches that keep their id until they are delivered. Reads on the read
 * connection; writes only to move a cursor past messages that are not for the sink, or to keep an archive's batch.
 */
final class SqliteClaims implements StoreOutbox.Claims {
    private final SqliteFile file;
    private final SqliteCursors cursors;
    private final Function<String, Sink> sinks;

    SqliteClaims(SqliteFile file, SqliteCursors cursors, Function<String, Sink> sinks) {
        this.file = file;
        this.cursors = cursors;
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
        List<Batch.Item> items = select(sinkName, "d.next_attempt_ms <= ?", now, limit);
        Scan scan = items.size() < limit
                ? beyondCursor(sinkName, cursors.of(sinkName).through(), Long.MAX_VALUE, limit - items.size(), items) : Scan.NONE;
        // full: more may be waiting, even if some of the messages looked at were not for this sink
        return new Batch(0, items, items.size() == max || scan.more(), scan.last());
    }

    /** The last message id a claim looked at (0 if none), and whether there may be more after it. */
    private record Scan(long last, boolean more) {
        static final Scan NONE = new Scan(0, false);
    }

    /**
     * Adds to {@code items} the messages that the sink takes among the next {@code max} after {@code after} (and
     * up to {@code upTo}). Messages that are not for the sink are passed over: when a whole run of them is, the
     * cursor moves past them at once.
     */
    private Scan beyondCursor(String sinkName, long after, long upTo, int max, List<Batch.Item> items) throws SQLException {
        long from = after;
        while (true) {
            long start = from;
            int before = items.size();
            Scan scan = file.read(db -> {
                try (PreparedStatement q = db.prepareStatement("""
                        SELECT id, key, kind, topic, time_ms, payload, received_ms, %s FROM message
                        WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3""".formatted(takenBy("message", "?4")))) {
                    q.setLong(1, start);
                    q.setLong(2, upTo);
                    q.setInt(3, max);
                    q.setString(4, sinkName);
                    long last = 0;
                    int scanned = 0;
                    try (ResultSet rs = q.executeQuery()) {
                        while (rs.next()) {
                            last = rs.getLong(1);
                            scanned++;
                            if (rs.getBoolean(8)) {
                                items.add(new Batch.Item(last, rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                                        rs.getBytes(6), 0, rs.getLong(7), false));
                            }
                        }
                    }
                    return new Scan(last, scanned == max);
                }
            });
            if (scan.last() == 0 || items.size() > before || upTo != Long.MAX_VALUE) {
                return scan;
            }
            file.write(db -> cursors.move(db, sinkName, scan.last()));
            from = scan.last();
        }
    }

    /**
     * Archive sink: the unfinished batch if there is one (the same deliveries, so the same object names, as
     * the attempt that failed or was cut short by a crash), else a new batch once it is full or its oldest
     * delivery has waited maxAgeMs. The batch's id is kept with its deliveries (and, for its new messages, with
     * the sink's cursor) until they are delivered.
     */
    @Override
    public Batch claimArchive(String sinkName, int max, long maxAgeMs) throws SQLException {
        Sink sink = sinks.apply(sinkName);
        long now = System.currentTimeMillis();
        if (!sink.mayDeliver(now)) {
            return Batch.EMPTY;
        }
        SqliteCursors.Cursor cursor = cursors.of(sinkName);
        if (cursor.batch() != 0) {
            List<Batch.Item> items = select(sinkName, "d.batch = ?", cursor.batch(), Integer.MAX_VALUE);
            beyondCursor(sinkName, cursor.through(), cursor.batchThrough(), Integer.MAX_VALUE, items);
            return new Batch(cursor.batch(), items, false, cursor.batchThrough());
        }
        long unfinished = file.read(db -> {
            try (PreparedStatement q = db.prepareStatement(
                    "SELECT min(batch) FROM delivery WHERE sink = ? AND state = 'pending' AND batch IS NOT NULL")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
        if (unfinished != 0) {
            return new Batch(unfinished, select(sinkName, "d.batch = ?", unfinished, Integer.MAX_VALUE), false);
        }
        Batch due = claim(sinkName, max);
        if (due.isEmpty() || !due.full() && now - due.items().get(0).receivedMs() < maxAgeMs) {
            return Batch.EMPTY;
        }
        long id = due.items().get(0).messageId();
        // the claim may have moved the cursor past messages that were not for this sink
        SqliteCursors.Cursor writing = new SqliteCursors.Cursor(cursors.of(sinkName).through(), id, due.through());
        file.write(db -> {
            try (PreparedStatement assign = db.prepareStatement("UPDATE delivery SET batch = ? WHERE message_id = ? AND sink = ?")) {
                for (Batch.Item item : due.items()) {
                    if (item.recorded()) {
                        assign.setLong(1, id);
                        assign.setLong(2, item.messageId());
                        assign.setString(3, sinkName);
                        assign.addBatch();
                    }
                }
                assign.executeBatch();
            }
            if (due.through() != 0) {
                cursors.save(db, sinkName, writing);
            }
            return null;
        });
        return new Batch(id, due.items(), due.full(), due.through());
    }

    private List<Batch.Item> select(String sinkName, String condition, long value, int limit) throws SQLException {
        return file.read(db -> {
            List<Batch.Item> items = new ArrayList<>();
            try (PreparedStatement q = db.prepareStatement("""
                SELECT d.message_id, m.key, m.kind, m.topic, m.time_ms, m.payload, d.attempts, m.received_ms
                FROM delivery d JOIN message m ON m.id = d.message_id
                WHERE d.sink = ? AND d.state = 'pending' AND %s
                ORDER BY d.next_attempt_ms, d.message_id LIMIT ?""".formatted(condition))) {
                q.setString(1, sinkName);
                q.setLong(2, value);
                q.setInt(3, limit);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        items.add(new Batch.Item(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5),
                                rs.getBytes(6), rs.getInt(7), rs.getLong(8), true));
                    }
                }
            }
            return items;
        });
    }
}
