package com.foxtrackr.fanout.outbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.observe.Metrics;

import static com.foxtrackr.fanout.outbox.OutboxSchema.LAST_MESSAGE_ID;
import static com.foxtrackr.fanout.outbox.OutboxSchema.PASSED_BY_EVERY_CURSOR;
import static com.foxtrackr.fanout.outbox.OutboxSchema.TIME_UNKNOWN;
import static com.foxtrackr.fanout.outbox.OutboxSchema.WITHOUT_GENERATED_KEYS;
import static com.foxtrackr.fanout.outbox.OutboxSchema.takenBy;

/**
 * The durable outbox in SQLite: each accepted message once, and for each sink a cursor, the last message it
 * has settled. The ingest route acknowledges a message to the broker only after {@link #storeAll} has
 * committed; each sink claims the messages beyond its cursor in batches, moves its cursor past what it
 * settled, and records a delivery row only for a message it could not deliver (a retry, a dead letter).
 * Claims take the due delivery rows first. A message goes once every cursor has passed it and no delivery
 * row needs it. (One delivery row per message and sink would cost six more B-tree entries per message,
 * written at ingest and deleted at delivery, for the few messages that ever fail.)
 */
public class SqliteOutbox implements Outbox {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

    private final Connection db;
    private final Connection readDb;
    private final long repeatWindowMs;
    private final long deadLetterRetentionMs;
    private volatile Map<String, Sink> sinks = Map.of();
    /**
     * One writer at a time on the write connection, in the order they asked: a fair lock, since ingest's
     * back-to-back group commits would otherwise keep the sinks from recording their deliveries.
     */
    private final ReentrantLock writing = new ReentrantLock(true);
    private final RepeatKeys seen;
    private Metrics metrics = Metrics.none();
    private final PreparedStatement insertMessage;
    private final PreparedStatement insertRejected;
    /** The committed cursors of the configured sinks. */
    private final Map<String, Cursor> cursors = new ConcurrentHashMap<>();
    /** Messages up to this id that no delivery row needs are gone; guarded by the write lock. */
    private long removedThrough;
    /** Whether {@link #sinksConfigured} has kept the sinks' places: before, a message would have no sink to wait for it. */
    private volatile boolean sinksConfigured;
    /** The sinks of the configuration (fanout.sinks), whose routes add them; null when the caller configures them itself. */
    private Set<String> expected;
    /** What the current transaction changes in memory once it is committed; guarded by the write lock. */
    private final List<Runnable> afterCommit = new ArrayList<>();

    /**
     * A sink's place: every message up to {@code through} that it takes is delivered or has a delivery row. An
     * archive's batch being written ({@code batch} not 0) also covers the new messages up to {@code batchThrough}.
     */
    private record Cursor(long through, long batch, long batchThrough) {
    }

    public SqliteOutbox(Path file, String synchronous, long repeatWindowMs, long deadLetterRetentionMs) throws SQLException {
        this.repeatWindowMs = repeatWindowMs;
        this.deadLetterRetentionMs = deadLetterRetentionMs;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (java.io.IOException e) {
            throw new SQLException("cannot create the directory of " + file + ": " + e.getMessage(), e);
        }
        db = DriverManager.getConnection("jdbc:sqlite:" + file, WITHOUT_GENERATED_KEYS);
        OutboxSchema.create(db, synchronous);
        db.setAutoCommit(false);
        // Sinks read their batches on a connection of their own: in WAL mode a read never waits for a write,
        // so a long read does not hold back ingest.
        readDb = DriverManager.getConnection("jdbc:sqlite:" + file);
        readDb.createStatement().execute("PRAGMA busy_timeout=10000");
        seen = inTransaction(() -> new RepeatKeys(db));
        insertMessage = db.prepareStatement(
                "INSERT INTO message (key, topic, kind, device_id, time_ms, received_ms, payload, sinks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        insertRejected = db.prepareStatement("INSERT INTO rejected (topic, reason, received_ms, payload) VALUES (?, ?, ?, ?)");
    }

    /** Free pages (SQLite's default of 4 KiB each) that maintenance leaves in the file for the next messages, and gives back at most at once. */
    private static final long KEPT_FREE_PAGES = 2_048;
    private static final long MAX_PAGES_GIVEN_BACK = 65_536;

    @Override
    public void metrics(Metrics metrics) {
        this.metrics = metrics;
    }

    /**
     * At start-up: the sinks whose routes will add them; once the last one is added, {@link #sinksConfigured}
     * runs and ingest may store.
     */
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
        Cursor cursor;
        try {
            cursor = startingCursor(sink.name());
        } catch (SQLException e) {
            throw new IllegalStateException("the outbox cannot keep the place of sink " + sink.name() + ": " + e.getMessage(), e);
        }
        cursors.put(sink.name(), cursor);
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

    private Cursor startingCursor(String sinkName) throws SQLException {
        return inTransaction(() -> {
            try (PreparedStatement q = db.prepareStatement("SELECT through, batch, batch_through FROM sink_cursor WHERE sink = ?")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    if (rs.next()) {
                        return new Cursor(rs.getLong(1), rs.getLong(2), rs.getLong(3));
                    }
                }
            }
            long last;
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery(LAST_MESSAGE_ID)) {
                last = rs.getLong(1);
            }
            return new Cursor(last, 0, 0);
        });
    }

    /** Within the caller's transaction. */
    private void save(String sinkName, Cursor cursor) throws SQLException {
        try (PreparedStatement q = db.prepareStatement(
                "INSERT OR REPLACE INTO sink_cursor (sink, through, batch, batch_through) VALUES (?, ?, nullif(?, 0), nullif(?, 0))")) {
            q.setString(1, sinkName);
            q.setLong(2, cursor.through());
            q.setLong(3, cursor.batch());
            q.setLong(4, cursor.batchThrough());
            q.executeUpdate();
        }
        afterCommit.add(() -> cursors.put(sinkName, cursor));
    }

    @Override
    public Sink sink(String name) {
        return sinks.get(name);
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
        int[] storedAndRejected = inTransaction(() -> {
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

    /**
     * Sink: the due delivery rows, oldest first, then the new messages beyond its cursor that it takes; empty
     * while the sink backs off or its circuit is open.
     */
    @Override
    public Batch claim(String sinkName, int max) throws SQLException {
        Sink sink = sinks.get(sinkName);
        long now = System.currentTimeMillis();
        if (!sink.mayDeliver(now)) {
            return Batch.EMPTY;
        }
        int limit = sink.oneAtATime() ? 1 : max;
        List<Batch.Item> items = select(sinkName, "d.next_attempt_ms <= ?", now, limit);
        Scan scan = items.size() < limit
                ? beyondCursor(sinkName, cursors.get(sinkName).through(), Long.MAX_VALUE, limit - items.size(), items) : Scan.NONE;
        if (sink.isolating() && (items.isEmpty() || items.get(0).messageId() > sink.isolateThrough())) {
            sink.stopIsolating();
            return claim(sinkName, max);
        }
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
            long last = 0;
            int scanned = 0;
            int before = items.size();
            synchronized (readDb) {
                try (PreparedStatement q = readDb.prepareStatement("""
                        SELECT id, key, kind, topic, time_ms, payload, received_ms, %s FROM message
                        WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3""".formatted(takenBy("message", "?4")))) {
                    q.setLong(1, from);
                    q.setLong(2, upTo);
                    q.setInt(3, max);
                    q.setString(4, sinkName);
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
                }
            }
            if (last == 0 || items.size() > before || upTo != Long.MAX_VALUE) {
                return new Scan(last, scanned == max);
            }
            long passed = last;
            inTransaction(() -> moveCursor(sinkName, new Cursor(passed, 0, 0)));
            from = last;
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
        Sink sink = sinks.get(sinkName);
        long now = System.currentTimeMillis();
        if (!sink.mayDeliver(now)) {
            return Batch.EMPTY;
        }
        Cursor cursor = cursors.get(sinkName);
        if (cursor.batch() != 0) {
            List<Batch.Item> items = select(sinkName, "d.batch = ?", cursor.batch(), Integer.MAX_VALUE);
            beyondCursor(sinkName, cursor.through(), cursor.batchThrough(), Integer.MAX_VALUE, items);
            return new Batch(cursor.batch(), items, false, cursor.batchThrough());
        }
        long unfinished;
        synchronized (readDb) {
            try (PreparedStatement q = readDb.prepareStatement(
                    "SELECT min(batch) FROM delivery WHERE sink = ? AND state = 'pending' AND batch IS NOT NULL")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    unfinished = rs.getLong(1);
                }
            }
        }
        if (unfinished != 0) {
            return new Batch(unfinished, select(sinkName, "d.batch = ?", unfinished, Integer.MAX_VALUE), false);
        }
        Batch due = claim(sinkName, max);
        if (due.isEmpty() || !due.full() && !sink.isolating() && now - due.items().get(0).receivedMs() < maxAgeMs) {
            return Batch.EMPTY;
        }
        long id = due.items().get(0).messageId();
        // the claim may have moved the cursor past messages that were not for this sink
        Cursor writing = new Cursor(cursors.get(sinkName).through(), id, due.through());
        inTransaction(() -> {
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
                save(sinkName, writing);
            }
            return null;
        });
        return new Batch(id, due.items(), due.full(), due.through());
    }

    private List<Batch.Item> select(String sinkName, String condition, long value, int limit) throws SQLException {
        List<Batch.Item> items = new ArrayList<>();
        synchronized (readDb) {
            try (PreparedStatement q = readDb.prepareStatement("""
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
        }
        return items;
    }

    /** Sink: the batch was delivered; its delivery rows go, its cursor moves past it, and so do the messages that no sink needs. */
    @Override
    public void delivered(String sinkName, Batch batch) throws SQLException {
        settled(sinkName, batch, () -> removeDelivered(sinkName, batch.items()));
        metrics.delivered(sinkName, batch.items());
        sinks.get(sinkName).succeeded();
    }

    /**
     * Sink: the batch was delivered but for the messages it refused (id -> reason), which go to its dead-letter
     * queue, in the same transaction.
     */
    @Override
    public void delivered(String sinkName, Batch batch, Map<Long, String> refused) throws SQLException {
        if (refused.isEmpty()) {
            delivered(sinkName, batch);
            return;
        }
        List<Outcome> outcomes = batch.items().stream().map(item -> refused.containsKey(item.messageId())
                ? new Outcome(item, Outcome.Result.DEAD, refused.get(item.messageId()), 0)
                : new Outcome(item, Outcome.Result.DELIVERED, null, 0)).toList();
        settle(sinkName, batch, outcomes);
        sinks.get(sinkName).succeeded();
    }

    /**
     * One transaction for what a sink made of a batch: {@code outcomes} records it, and the sink's cursor moves
     * past the batch's new messages.
     */
    private <T> T settled(String sinkName, Batch batch, Work<T> outcomes) throws SQLException {
        return inTransaction(() -> {
            T recorded = outcomes.run();
            if (batch.through() != 0) {
                moveCursor(sinkName, new Cursor(batch.through(), 0, 0));
            }
            return recorded;
        });
    }

    /**
     * Within the caller's transaction: saves the sink's cursor (taken as the sink's once committed), and
     * removes the messages that every cursor has passed and no delivery row needs.
     */
    private Void moveCursor(String sinkName, Cursor moved) throws SQLException {
        save(sinkName, moved);
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
            afterCommit.add(() -> removedThrough = allThrough);
        }
        return null;
    }

    /** Within the caller's transaction: the delivered rows go, and their messages if no cursor or row needs them. */
    private Void removeDelivered(String sinkName, List<Batch.Item> items) throws SQLException {
        try (PreparedStatement deleteDelivery = db.prepareStatement("DELETE FROM delivery WHERE message_id = ? AND sink = ?");
             PreparedStatement deleteMessage = db.prepareStatement(
                     "DELETE FROM message WHERE id = ? AND " + PASSED_BY_EVERY_CURSOR + " AND NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = ?)")) {
            for (Batch.Item item : items) {
                if (!item.recorded()) {
                    continue;
                }
                deleteDelivery.setLong(1, item.messageId());
                deleteDelivery.setString(2, sinkName);
                deleteDelivery.addBatch();
                deleteMessage.setLong(1, item.messageId());
                deleteMessage.setLong(2, item.messageId());
                deleteMessage.addBatch();
            }
            deleteDelivery.executeBatch();
            deleteMessage.executeBatch();
        }
        return null;
    }

    /**
     * Within the caller's transaction: a delivery row for each new message of the items, as it was when it
     * came (in the archive's batch {@code batch}, unless 0), for the outcome to update.
     */
    private void record(String sinkName, Collection<Batch.Item> items, long batch) throws SQLException {
        try (PreparedStatement insert = db.prepareStatement(
                "INSERT INTO delivery (message_id, sink, next_attempt_ms, batch) VALUES (?, ?, ?, nullif(?, 0))")) {
            for (Batch.Item item : items) {
                if (!item.recorded()) {
                    insert.setLong(1, item.messageId());
                    insert.setString(2, sinkName);
                    insert.setLong(3, item.receivedMs());
                    insert.setLong(4, batch);
                    insert.addBatch();
                }
            }
            insert.executeBatch();
        }
    }

    /**
     * Sink: the batch failed. A transient error backs the whole sink off; an error about the items themselves
     * ({@code permanent}) isolates them one by one, and the one that still fails alone goes to the sink's
     * dead-letter queue.
     */
    @Override
    public void failed(String sinkName, Batch batch, Exception error, boolean permanent) throws SQLException {
        Sink sink = sinks.get(sinkName);
        String reason = MessageValidator.reason(innermost(error));
        long now = System.currentTimeMillis();
        boolean dead = permanent && batch.items().size() == 1;
        settled(sinkName, batch, () -> {
            record(sinkName, batch.items(), batch.id());
            // Items isolated one by one leave their batch, each a batch of its own; the batch's error is not
            // theirs (it may name another item), so it is not recorded as their error or attempt.
            String sql = permanent && !dead ? "UPDATE delivery SET batch = NULL WHERE message_id = ? AND sink = ?" : """
                    UPDATE delivery SET attempts = attempts + 1, state = ?,
                      first_error = coalesce(first_error, ?), first_error_ms = coalesce(first_error_ms, ?),
                      last_error = ?, last_error_ms = ?
                    WHERE message_id = ? AND sink = ?""";
            try (PreparedStatement update = db.prepareStatement(sql)) {
                for (Batch.Item item : batch.items()) {
                    int i = 1;
                    if (!permanent || dead) {
                        update.setString(i++, dead ? "dead" : "pending");
                        update.setString(i++, reason);
                        update.setLong(i++, now);
                        update.setString(i++, reason);
                        update.setLong(i++, now);
                    }
                    update.setLong(i++, item.messageId());
                    update.setString(i, sinkName);
                    update.addBatch();
                }
                update.executeBatch();
            }
            return null;
        });
        if (dead) {
            metrics.deadLettered(sinkName, 1);
            LOG.warn("sink={} event=dead-letter message={} reason=\"{}\"", sinkName, batch.items().get(0).messageId(), reason);
        } else if (permanent) {
            metrics.retried(sinkName, batch.size());
            sink.isolate(batch.items().get(batch.items().size() - 1).messageId());
            LOG.warn("sink={} event=isolating items={} reason=\"{}\"", sinkName, batch.items().size(), reason);
        } else {
            metrics.retried(sinkName, batch.size());
            sink.backOff(reason, now);
        }
    }

    /**
     * Per-message sink, before its calls: every item of the batch gets a delivery row due only after holdMs (a new
     * message a new row, a retry its row moved), and the cursor moves past the batch, in one transaction. The calls
     * are then settled in small groups as they complete (settle with the returned items); if the process dies
     * meanwhile, what was not settled is due again after holdMs: repeats are bounded by what was in flight.
     */
    @Override
    public Batch hold(String sinkName, Batch batch, long holdMs) throws SQLException {
        long due = System.currentTimeMillis() + holdMs;
        settled(sinkName, batch, () -> {
            try (PreparedStatement insert = db.prepareStatement(
                         "INSERT INTO delivery (message_id, sink, next_attempt_ms) VALUES (?, ?, ?)");
                 PreparedStatement move = db.prepareStatement("UPDATE delivery SET next_attempt_ms = ? WHERE message_id = ? AND sink = ?")) {
                for (Batch.Item item : batch.items()) {
                    PreparedStatement statement = item.recorded() ? move : insert;
                    if (item.recorded()) {
                        move.setLong(1, due);
                        move.setLong(2, item.messageId());
                        move.setString(3, sinkName);
                    } else {
                        insert.setLong(1, item.messageId());
                        insert.setString(2, sinkName);
                        insert.setLong(3, due);
                    }
                    statement.addBatch();
                }
                insert.executeBatch();
                move.executeBatch();
            }
            return null;
        });
        return new Batch(batch.id(), batch.items().stream().map(i -> i.recorded() ? i : new Batch.Item(i.messageId(), i.key(), i.kind(),
                i.topic(), i.timeMs(), i.payload(), i.attempts(), i.receivedMs(), true)).toList(), batch.full(), 0);
    }

    /**
     * Per-message sink: records the outcomes of a batch in one transaction. Delivered deliveries go; a retry
     * waits for its back-off (or the partner's Retry-After, if longer) unless it has used up its attempts or
     * its age, when it is dead; a dead one goes to the sink's dead-letter queue; a postponed one (the circuit
     * was open) waits for the next probe without an attempt counted.
     */
    @Override
    public void settle(String sinkName, Batch batch, Collection<Outcome> outcomes) throws SQLException {
        Sink sink = sinks.get(sinkName);
        long now = System.currentTimeMillis();
        List<String> deadLetters = new ArrayList<>();
        List<Batch.Item> delivered = new ArrayList<>();
        int retried = settled(sinkName, batch, () -> {
            int retries = 0;
            record(sinkName, outcomes.stream().filter(o -> o.result() != Outcome.Result.DELIVERED).map(Outcome::item).toList(), 0);
            try (PreparedStatement postpone = db.prepareStatement(
                         "UPDATE delivery SET next_attempt_ms = ? WHERE message_id = ? AND sink = ?");
                 PreparedStatement failed = db.prepareStatement("""
                         UPDATE delivery SET attempts = attempts + 1, state = ?, next_attempt_ms = ?,
                           first_error = coalesce(first_error, ?), first_error_ms = coalesce(first_error_ms, ?),
                           last_error = ?, last_error_ms = ?
                         WHERE message_id = ? AND sink = ?""")) {
                for (Outcome outcome : outcomes) {
                    Batch.Item item = outcome.item();
                    switch (outcome.result()) {
                        case DELIVERED -> delivered.add(item);
                        case POSTPONED -> {
                            postpone.setLong(1, now + outcome.retryAfterMs());
                            postpone.setLong(2, item.messageId());
                            postpone.setString(3, sinkName);
                            postpone.executeUpdate();
                        }
                        case RETRY, DEAD -> {
                            int attempts = item.attempts() + 1;
                            boolean dead = outcome.result() == Outcome.Result.DEAD || sink.exhausted(attempts, now - item.receivedMs());
                            String reason = outcome.result() == Outcome.Result.RETRY && dead
                                    ? "gave up after " + attempts + " attempts: " + outcome.reason() : outcome.reason();
                            failed.setString(1, dead ? "dead" : "pending");
                            failed.setLong(2, dead ? now : now + Math.max(sink.delayAfter(attempts), outcome.retryAfterMs()));
                            failed.setString(3, reason);
                            failed.setLong(4, now);
                            failed.setString(5, reason);
                            failed.setLong(6, now);
                            failed.setLong(7, item.messageId());
                            failed.setString(8, sinkName);
                            failed.executeUpdate();
                            if (dead) {
                                deadLetters.add("message=" + item.messageId() + " reason=\"" + reason + "\"");
                            } else {
                                retries++;
                            }
                        }
                    }
                }
                removeDelivered(sinkName, delivered);
            }
            return retries;
        });
        metrics.delivered(sinkName, delivered);
        metrics.retried(sinkName, retried);
        metrics.deadLettered(sinkName, deadLetters.size());
        deadLetters.forEach(entry -> LOG.warn("sink={} event=dead-letter {}", sinkName, entry));
    }

    /**
     * Forgets the keys of messages seen before the repeat window, so that this memory stays bounded, and
     * removes dead letters and rejected input older than their retention, saying how many.
     */
    @Override
    public void maintain() throws SQLException {
        long now = System.currentTimeMillis();
        Map<String, Integer> expired = new TreeMap<>();
        int rejected = inTransaction(() -> {
            try (PreparedStatement forget = db.prepareStatement("DELETE FROM seen WHERE seen_ms < ?");
                 PreparedStatement expireDead = db.prepareStatement(
                         "DELETE FROM delivery WHERE state = 'dead' AND last_error_ms < ? RETURNING sink");
                 PreparedStatement orphans = db.prepareStatement(
                         "DELETE FROM message WHERE " + PASSED_BY_EVERY_CURSOR
                                 + " AND NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = message.id)");
                 PreparedStatement expireRejected = db.prepareStatement("DELETE FROM rejected WHERE received_ms < ?")) {
                forget.setLong(1, now - repeatWindowMs);
                forget.executeUpdate();
                expireDead.setLong(1, now - deadLetterRetentionMs);
                try (ResultSet rs = expireDead.executeQuery()) {
                    while (rs.next()) {
                        expired.merge(rs.getString(1), 1, Integer::sum);
                    }
                }
                orphans.executeUpdate();
                expireRejected.setLong(1, now - deadLetterRetentionMs);
                return expireRejected.executeUpdate();
            }
        });
        inTransaction(seen::recheckKeysWithoutTime);
        long pagesGivenBack = inTransaction(this::giveBackFreePages);
        expired.forEach((sink, n) -> LOG.info("sink={} event=dead-letters-expired count={}", sink, n));
        if (rejected > 0) {
            LOG.info("sink=rejected event=dead-letters-expired count={}", rejected);
        }
        if (pagesGivenBack > 0) {
            LOG.info("outbox event=space-given-back megabytes={}", pagesGivenBack * 4096 / (1 << 20));
        }
    }

    /**
     * At start-up, once every sink is added (not for a check of the configuration): the new sinks' cursors are
     * kept; a sink no longer configured keeps what it had still to do as delivery rows, and its cursor goes, so
     * that it holds back no later message.
     */
    @Override
    public void sinksConfigured() throws SQLException {
        Map<String, Integer> kept = inTransaction(() -> {
            try (PreparedStatement keep = db.prepareStatement("INSERT OR IGNORE INTO sink_cursor (sink, through) VALUES (?, ?)")) {
                for (var cursor : cursors.entrySet()) {
                    keep.setString(1, cursor.getKey());
                    keep.setLong(2, cursor.getValue().through());
                    keep.executeUpdate();
                }
            }
            return keepWorkOfSinksOtherThanThese();
        });
        sinksConfigured = true;
        kept.forEach((sink, n) -> LOG.warn("sink={} event=not-configured pending={} note=\"kept until the sink "
                + "is configured again\"", sink, n));
    }

    private Map<String, Integer> keepWorkOfSinksOtherThanThese() throws SQLException {
        Map<String, Integer> kept = new TreeMap<>();
        Map<String, Long> unconfigured = new TreeMap<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT sink, through FROM sink_cursor")) {
            while (rs.next()) {
                if (!sinks.containsKey(rs.getString(1))) {
                    unconfigured.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
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
    }

    /** Within maintenance: the file shrinks by the free pages beyond what the next messages will soon take. */
    private long giveBackFreePages() throws SQLException {
        try (Statement s = db.createStatement()) {
            long free;
            try (ResultSet rs = s.executeQuery("PRAGMA freelist_count")) {
                free = rs.next() ? rs.getLong(1) : 0;
            }
            if (free <= KEPT_FREE_PAGES) {
                return 0;
            }
            // each step of this pragma gives back one page, and the driver runs one step per call
            long pages = Math.min(free - KEPT_FREE_PAGES, MAX_PAGES_GIVEN_BACK);
            try (PreparedStatement givePage = db.prepareStatement("PRAGMA incremental_vacuum")) {
                for (long page = 0; page < pages; page++) {
                    givePage.execute();
                }
            }
            return pages;
        }
    }

    @Override
    public long pending(String sinkName) throws SQLException {
        return inTransaction(() -> {
            try (PreparedStatement q = db.prepareStatement("SELECT count(*) FROM outstanding WHERE sink = ? AND state = 'pending'")) {
                q.setString(1, sinkName);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /** Wrappers repeat their cause's text: the reason is the innermost error that says something. */
    private static Throwable innermost(Throwable error) {
        Throwable found = error;
        for (Throwable t = error.getCause(); t != null && t != found; t = t.getCause()) {
            if (t.getMessage() != null) {
                found = t;
            }
        }
        return found;
    }

    /** What runs inside one transaction of the write connection. */
    private interface Work<T> {
        T run() throws SQLException;
    }

    /**
     * One transaction on the write connection, holding the write lock: committed, or rolled back if it fails.
     * What the work added to {@link #afterCommit} runs once it is committed, still under the lock.
     */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        writing.lock();
        try {
            T result = work.run();
            db.commit();
            afterCommit.forEach(Runnable::run);
            return result;
        } catch (SQLException | RuntimeException e) {
            rollback();
            throw e;
        } finally {
            afterCommit.clear();
            writing.unlock();
        }
    }

    private void rollback() {
        try {
            db.rollback();
        } catch (SQLException e) {
            LOG.warn("outbox rollback failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() throws SQLException {
        writing.lock();
        try {
            readDb.close();
            db.close();
        } finally {
            writing.unlock();
        }
    }
}
