package com.foxtrackr.fanout;

import java.util.List;

/** Deliveries claimed by one sink for one attempt. */
public record Batch(List<Item> items, boolean full) {
    public static final Batch EMPTY = new Batch(List.of(), false);

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
