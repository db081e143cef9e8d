package com.foxtrackr.fanout.outbox;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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

    /**
     * The same batch with its messages in the order they were received (their ids): a store may give a retried
     * batch's messages in another order, and the parts of a batch, their keys and a partner's array follow this one.
     */
    Batch inMessageOrder() {
        for (int i = 1; i < items.size(); i++) {
            if (items.get(i - 1).messageId() > items.get(i).messageId()) {
                return new Batch(id, items.stream().sorted(java.util.Comparator.comparingLong(Item::messageId)).toList(), full, through);
            }
        }
        return this;
    }

    /** Part of a batch, as one delivery of its own: named by its first message, like a batch. */
    static Batch part(List<Item> items) {
        return new Batch(items.get(0).messageId(), List.copyOf(items), false);
    }

    /**
     * The same for every attempt at the same messages, different for any other set of them: the SHA-256 of the
     * messages' keys, 32 hex digits. A partner's Idempotency-Key for a batch.
     */
    public String key() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Item item : items) {
                digest.update(item.key().getBytes(StandardCharsets.US_ASCII));
                digest.update((byte) '\n');
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The payloads' bytes. */
    public long bytes() {
        long bytes = 0;
        for (Item item : items) {
            bytes += item.payload().length;
        }
        return bytes;
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    public int size() {
        return items.size();
    }
}
