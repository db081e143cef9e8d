package com.foxtrackr.fanout;

import java.util.List;

/**
 * Deliveries claimed by one sink for one attempt. An archive's batch has an id, kept with its deliveries
 * until they are delivered, so that a retry (even after a crash) writes the same objects again.
 */
public record Batch(long id, List<Item> items, boolean full) {
    public static final Batch EMPTY = new Batch(0, List.of(), false);

    public Batch(List<Item> items, boolean full) {
        this(0, items, full);
    }

    /** One delivery: its message, how often it was tried, and when the message was received. */
    public record Item(long messageId, String key, String kind, String topic, long timeMs, byte[] payload, int attempts,
            long receivedMs) {
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    public int size() {
        return items.size();
    }
}
