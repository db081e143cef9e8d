package com.foxtrackr.fanout;

import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sink instance as the outbox sees it: which kinds it accepts, how it backs off after a failure,
 * which errors are about the items rather than the sink, and its current state.
 */
public class Sink {
    private static final Logger LOG = LoggerFactory.getLogger(Sink.class);

    private final String name;
    private final Set<String> kinds;
    private final Backoff backoff;
    private final Predicate<Throwable> permanent;

    private int consecutiveFailures;
    private long pausedUntil;
    private long isolateThrough = -1;
    private String lastError;

    /** @param kinds the accepted kinds; empty accepts every kind */
    public Sink(String name, Set<String> kinds, Backoff backoff, Predicate<Throwable> permanent) {
        this.name = name;
        this.kinds = Set.copyOf(kinds);
        this.backoff = backoff;
        this.permanent = permanent;
    }

    public record Backoff(long initialDelayMs, double multiplier, long maxDelayMs) {
        /** The delay before attempt n+1 after n consecutive failures, with up to 20% jitter. */
        long delayAfter(int failures) {
            double delay = initialDelayMs * Math.pow(multiplier, Math.max(0, failures - 1));
            long capped = (long) Math.min(delay, maxDelayMs);
            return capped + ThreadLocalRandom.current().nextLong(capped / 5 + 1);
        }
    }

    public String name() {
        return name;
    }

    public Set<String> kinds() {
        return kinds;
    }

    public boolean accepts(String kind) {
        return kinds.isEmpty() || kinds.contains(kind);
    }

    boolean isPermanent(Throwable error) {
        return permanent.test(error);
    }

    long pausedUntil() {
        return pausedUntil;
    }

    boolean isolating() {
        return isolateThrough >= 0;
    }

    long isolateThrough() {
        return isolateThrough;
    }

    void isolate(long throughMessageId) {
        isolateThrough = throughMessageId;
    }

    void stopIsolating() {
        isolateThrough = -1;
    }

    void backOff(String reason, long now) {
        consecutiveFailures++;
        long delay = backoff.delayAfter(consecutiveFailures);
        pausedUntil = now + delay;
        if (consecutiveFailures == 1 || !reason.equals(lastError)) {
            LOG.warn("sink={} state=retrying failures={} retry-in-ms={} error=\"{}\"", name, consecutiveFailures, delay, reason);
        }
        lastError = reason;
    }

    void succeeded() {
        if (consecutiveFailures > 0) {
            LOG.info("sink={} state=up after-failures={}", name, consecutiveFailures);
        }
        consecutiveFailures = 0;
        pausedUntil = 0;
        lastError = null;
    }
}
