package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.observe.Metrics;
import com.foxtrackr.fanout.outbox.Outbox.Outcome;

/**
 * What became of what a sink claimed, each in one transaction that also moves the sink's cursor (SQLite's) past
 * the claim's new messages: delivered (the delivery rows go, and the messages no sink needs; a sink's refused
 * messages are dead-lettered), failed (the sink backs off), held before per-message calls, and settled per message
 * (delivered, retried with back-off or the partner's Retry-After, dead-lettered, postponed). In SQLite a delivery row is written only for a
 * message that was not delivered at the first attempt; in PostgreSQL every delivery has one from the start. The
 * SQL is the same for both.
 */
final class Settlement {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

    private final OutboxDb file;
    /** The sinks' cursors; null for a store that keeps a delivery row for every delivery (its batches move no cursor). */
    private final SqliteCursors cursors;
    /** The condition, besides no delivery row, for a message to go once delivered. */
    private final String messageUnneeded;
    private final Function<String, Sink> sinks;
    /**
     * Whether sinks settle in transactions side by side (PostgreSQL): two sinks delivering the same message at once
     * each still see the other's row, so each transaction keeps the message. Looked at again once committed, the
     * last of them sees that no row is left. (SQLite writes one transaction at a time.)
     */
    private final boolean sideBySide;
    private volatile Metrics metrics = Metrics.none();

    Settlement(OutboxDb file, SqliteCursors cursors, String messageUnneeded, boolean sideBySide, Function<String, Sink> sinks) {
        this.file = file;
        this.cursors = cursors;
        this.messageUnneeded = messageUnneeded;
        this.sideBySide = sideBySide;
        this.sinks = sinks;
    }

    void metrics(Metrics metrics) {
        this.metrics = metrics;
    }

    /** Sink: the batch was delivered; its delivery rows go, its cursor moves past it, and so do the messages that no sink needs. */
    void delivered(String sinkName, Batch batch) throws SQLException {
        settled(sinkName, batch, db -> removeDelivered(db, sinkName, batch.items()));
        removeUnneeded(batch.items());
        metrics.delivered(sinkName, batch.items());
        sinks.apply(sinkName).succeeded();
    }

    /**
     * Sink: the batch was delivered but for the messages it refused (id -> reason), which go to its dead-letter
     * queue, in the same transaction.
     */
    void delivered(String sinkName, Batch batch, Map<Long, String> refused) throws SQLException {
        if (refused.isEmpty()) {
            delivered(sinkName, batch);
            return;
        }
        List<Outcome> outcomes = batch.items().stream().map(item -> refused.containsKey(item.messageId())
                ? new Outcome(item, Outcome.Result.DEAD, refused.get(item.messageId()), 0)
                : new Outcome(item, Outcome.Result.DELIVERED, null, 0)).toList();
        settle(sinkName, batch, outcomes);
        sinks.apply(sinkName).succeeded();
    }

    /**
     * One transaction for what a sink made of a batch: {@code outcomes} records it, and the sink's cursor moves
     * past the batch's new messages.
     */
    private <T> T settled(String sinkName, Batch batch, OutboxDb.Work<T> outcomes) throws SQLException {
        return file.write(db -> {
            T recorded = outcomes.run(db);
            if (batch.through() != 0) {
                cursors.move(db, sinkName, batch.through());
            }
            return recorded;
        });
    }

    /** After a settlement side by side with others: its delivered messages go if no row needs them any more. */
    private void removeUnneeded(List<Batch.Item> delivered) throws SQLException {
        if (!sideBySide || delivered.isEmpty()) {
            return;
        }
        file.write(db -> {
            try (PreparedStatement delete = db.prepareStatement(
                    "DELETE FROM message WHERE id = ANY (?) AND NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = message.id)")) {
                delete.setArray(1, db.createArrayOf("bigint", delivered.stream().map(Batch.Item::messageId).toArray()));
                return delete.executeUpdate();
            }
        });
    }

    /** Within the caller's transaction: the delivered rows go, and their messages if no cursor or row needs them. */
    private Void removeDelivered(Connection db, String sinkName, List<Batch.Item> items) throws SQLException {
        try (PreparedStatement deleteDelivery = db.prepareStatement("DELETE FROM delivery WHERE message_id = ? AND sink = ?");
             PreparedStatement deleteMessage = db.prepareStatement(
                     "DELETE FROM message WHERE id = ? AND " + messageUnneeded + " NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = ?)")) {
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
    private void record(Connection db, String sinkName, Collection<Batch.Item> items, long batch) throws SQLException {
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
     * Sink: the batch failed. The sink backs off; the batch's messages are due again when it may deliver (a store
     * that leases its claims gives them back), as the same batch.
     */
    void failed(String sinkName, Batch batch, String reason) throws SQLException {
        long now = System.currentTimeMillis();
        settled(sinkName, batch, db -> {
            record(db, sinkName, batch.items(), batch.id());
            try (PreparedStatement update = db.prepareStatement("""
                    UPDATE delivery SET next_attempt_ms = CASE WHEN next_attempt_ms > ? THEN ? ELSE next_attempt_ms END,
                      attempts = attempts + 1,
                      first_error = coalesce(first_error, ?), first_error_ms = coalesce(first_error_ms, ?),
                      last_error = ?, last_error_ms = ?
                    WHERE message_id = ? AND sink = ?""")) {
                for (Batch.Item item : batch.items()) {
                    update.setLong(1, now);
                    update.setLong(2, now);
                    update.setString(3, reason);
                    update.setLong(4, now);
                    update.setString(5, reason);
                    update.setLong(6, now);
                    update.setLong(7, item.messageId());
                    update.setString(8, sinkName);
                    update.addBatch();
                }
                update.executeBatch();
            }
            return null;
        });
        metrics.retried(sinkName, batch.size());
        sinks.apply(sinkName).backOff(reason, now);
    }

    /**
     * Per-message sink, before its calls: every item of the batch gets a delivery row due only after holdMs (a new
     * message a new row, a retry its row moved), and the cursor moves past the batch, in one transaction. The calls
     * are then settled in small groups as they complete (settle with the returned items); if the process dies
     * meanwhile, what was not settled is due again after holdMs: repeats are bounded by what was in flight.
     */
    Batch hold(String sinkName, Batch batch, long holdMs) throws SQLException {
        long due = System.currentTimeMillis() + holdMs;
        settled(sinkName, batch, db -> {
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
    void settle(String sinkName, Batch batch, Collection<Outcome> outcomes) throws SQLException {
        Sink sink = sinks.apply(sinkName);
        long now = System.currentTimeMillis();
        List<String> deadLetters = new ArrayList<>();
        List<Batch.Item> delivered = new ArrayList<>();
        int retried = settled(sinkName, batch, db -> {
            int retries = 0;
            record(db, sinkName, outcomes.stream().filter(o -> o.result() != Outcome.Result.DELIVERED).map(Outcome::item).toList(), 0);
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
                removeDelivered(db, sinkName, delivered);
            }
            return retries;
        });
        removeUnneeded(delivered);
        metrics.delivered(sinkName, delivered);
        metrics.retried(sinkName, retried);
        metrics.deadLettered(sinkName, deadLetters.size());
        deadLetters.forEach(entry -> LOG.warn("sink={} event=dead-letter {}", sinkName, entry));
    }
}
