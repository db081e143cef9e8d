package com.foxtrackr.fanout;

import java.util.List;

/** Deliveries claimed by one sink for one attempt. */
public record Batch(List<Item> items, boolean full) {
    public static final Batch EMPTY = new Batch(List.of(), false);

    public record Item(long messageId, String kind, String topic, byte[] payload) {
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    public int size() {
        return items.size();
    }
}
