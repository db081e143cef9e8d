package com.foxtrackr.fanout.outbox;

import java.util.List;

/**
 * Deliveries claimed by one sink for one attempt. An archive's batch has an id, kept with its deliveries
 * until they are delivered, so that a retry (even after a crash) writes the same objects again.
 * {@code through} is where the sink's cursor goes once the batch is settled: the last new message it looked at
 * (0 when it took only recorded deliveries).
 */
public record Batch(long id, List<Item> items, boolean full, long through) {
    static final Batch EMPTY = new Batch(0, List.of(), false, 0);

    public Batch(long id, List<Item> items, boolean full) {
        this(id, items, full, 0);
    }

    /**
     * One delivery: its message, how often it was tried, and when the message was received. {@code recorded}:
     * it has a delivery row (a retry, a postponed call, a replayed dead letter); a new message beyond the
     * sink's cursor has none until it fails.
     */
    public record Item(long messageId, String key, String kind, String topic, long timeMs, byte[] payload, int attempts,
            long receivedMs, boolean recorded) {
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    public int size() {
        return items.size();
    }
}
