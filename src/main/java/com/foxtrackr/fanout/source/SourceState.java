package com.foxtrackr.fanout.source;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** What an operator needs to know about one MQTT source, kept by its consumer and read by health and metrics. */
public final class SourceState {
    public final String clientId;
    public volatile String url = "";
    public volatile boolean connected;
    /** With a shared outbox: the instance that consumes this source (this one or another); null for an instance on its own. */
    public volatile String heldBy;
    /** With a shared outbox: whether another instance consumes this source while this one stands by. */
    public volatile boolean standby;
    public final AtomicLong taken = new AtomicLong();
    /** Why the last connection attempt or connection failed; null while connected. */
    public volatile String connectionError = "not connected yet";
    /** Why the outbox could not store the last message; null while it stores. */
    public volatile String storeError;
    public volatile long lastMessageMs;
    public final AtomicLong received = new AtomicLong();
    public final AtomicLong reconnects = new AtomicLong();
    public final AtomicLong notStored = new AtomicLong();
    final AtomicLong reusedPacketIds = new AtomicLong();

    static final long FIRST_REDELIVERY_DELAY_MS = 1000;
    final AtomicBoolean redeliveryPending = new AtomicBoolean();
    volatile long redeliveryDelayMs = FIRST_REDELIVERY_DELAY_MS;

    private SourceState(String clientId) {
        this.clientId = clientId;
    }

    /** All sources by client id: a registry bean, so that a route reload keeps the counts. */
    public static final class All {
        private final Map<String, SourceState> byClientId = new ConcurrentHashMap<>();

        public SourceState of(String clientId) {
            return byClientId.computeIfAbsent(clientId, SourceState::new);
        }

        public Iterable<SourceState> all() {
            return byClientId.values();
        }
    }
}
