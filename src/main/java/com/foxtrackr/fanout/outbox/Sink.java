package com.foxtrackr.fanout.outbox;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sink instance as the outbox sees it: which kinds it accepts, how it retries, and its state. A batch sink
 * backs off as a whole after a failure; a
 * per-message sink retries each message on its own schedule behind a circuit breaker.
 */
public class Sink {
    private static final Logger LOG = LoggerFactory.getLogger(Sink.class);

    private final String name;
    private final SinkFilter filter;
    private final Retry retry;
    private final CircuitBreaker breaker;

    private int consecutiveFailures;
    private long pausedUntil;
    private String lastError;
    /** Where it delivers, for its log lines and the status page: a URL without user information, a bucket, a folder. */
    private String where = "";

    /**
     * @param circuit the circuit breaker of a per-message sink, or null for a batch sink
     */
    public Sink(String name, SinkFilter filter, Retry retry, Circuit circuit) {
        this.name = name;
        this.filter = filter;
        this.retry = retry;
        this.breaker = circuit == null ? null : circuit.breaker(name);
    }

    /** When to try again, and when to give up (0: never, for attempts). */
    public record Retry(long initialDelayMs, double multiplier, long maxDelayMs, int maxAttempts, long maxAgeMs) {
        /** The delay after n consecutive failures, with up to 20% jitter so that retries do not come in waves. */
        long delayAfter(int failures) {
            double delay = initialDelayMs * Math.pow(multiplier, Math.max(0, failures - 1));
            long capped = (long) Math.min(delay, maxDelayMs);
            return capped + ThreadLocalRandom.current().nextLong(capped / 5 + 1);
        }
    }

    /** Opens after failureRatePercent of the last minimumCalls calls failed; probes one call after openMs. */
    public record Circuit(int failureRatePercent, int minimumCalls, long openMs) {
        CircuitBreaker breaker(String sinkName) {
            CircuitBreaker breaker = CircuitBreaker.of(sinkName, CircuitBreakerConfig.custom()
                    .failureRateThreshold(failureRatePercent)
                    .minimumNumberOfCalls(minimumCalls)
                    .slidingWindowSize(minimumCalls)
                    .waitDurationInOpenState(Duration.ofMillis(openMs))
                    .permittedNumberOfCallsInHalfOpenState(1)
                    .automaticTransitionFromOpenToHalfOpenEnabled(true)
                    .build());
            breaker.getEventPublisher().onStateTransition(event ->
                    LOG.warn("sink={} circuit={}", sinkName, event.getStateTransition().getToState().name().toLowerCase()));
            return breaker;
        }
    }

    public String name() {
        return name;
    }

    void target(String where) {
        this.where = where;
    }

    public String where() {
        return where;
    }

    public SinkFilter filter() {
        return filter;
    }

    public boolean accepts(String kind, long messageType, String topic) {
        return filter.accepts(kind, messageType, topic);
    }

    /** Not backing off, and the circuit (if any) is not open. */
    boolean mayDeliver(long now) {
        return pausedUntil <= now && (breaker == null || breaker.getState() != CircuitBreaker.State.OPEN);
    }

    /** Asked before each call of a per-message sink: an open circuit stops the rest of a claimed batch too. */
    boolean mayCall() {
        return breaker == null || breaker.tryAcquirePermission();
    }

    long circuitOpenMs() {
        return breaker == null ? 0 : breaker.getCircuitBreakerConfig().getWaitIntervalFunctionInOpenState().apply(1);
    }

    /** Probing a partner after an open circuit: one message at a time. */
    boolean oneAtATime() {
        return breaker != null && breaker.getState() == CircuitBreaker.State.HALF_OPEN;
    }

    long delayAfter(int attempts) {
        return retry.delayAfter(attempts);
    }

    boolean exhausted(int attempts, long ageMs) {
        return retry.maxAttempts() > 0 && attempts >= retry.maxAttempts() || ageMs >= retry.maxAgeMs();
    }

    /** A batch failed for a reason of the sink: the whole sink waits. */
    synchronized void backOff(String reason, long now) {
        consecutiveFailures++;
        long delay = retry.delayAfter(consecutiveFailures);
        pausedUntil = now + delay;
        if (consecutiveFailures == 1 || !reason.equals(lastError)) {
            LOG.warn("sink={} state=retrying failures={} retry-in-ms={}{} error=\"{}\"", name, consecutiveFailures, delay, targetField(), reason);
        }
        lastError = reason;
    }

    /** A batch sink's target asked for a longer wait (an HTTP Retry-After) than its back-off. */
    synchronized void pauseAtLeast(long delayMs, long now) {
        pausedUntil = Math.max(pausedUntil, now + delayMs);
    }

    /** One call to a per-message sink failed in a way worth retrying. */
    synchronized void failedCall(String reason) {
        consecutiveFailures++;
        if (breaker != null) {
            breaker.onError(0, TimeUnit.MILLISECONDS, new CallFailed(reason));
        }
        if (consecutiveFailures == 1) {
            LOG.warn("sink={} state=retrying{} error=\"{}\"", name, targetField(), reason);
        }
        lastError = reason;
    }

    private String targetField() {
        return where.isEmpty() ? "" : " target=" + where;
    }

    /** For health and the status page: up, retrying, or circuit-open. */
    public synchronized String state() {
        if (breaker != null && breaker.getState() == CircuitBreaker.State.OPEN) {
            return "circuit-open";
        }
        return consecutiveFailures > 0 ? "retrying" : "up";
    }

    /** Why the sink is retrying; null when it is up. */
    public synchronized String lastError() {
        return lastError;
    }

    /** The sink answered, even if it refused the message: it is up. */
    synchronized void answered() {
        if (breaker != null) {
            breaker.onSuccess(0, TimeUnit.MILLISECONDS);
        }
    }

    synchronized void succeeded() {
        answered();
        if (consecutiveFailures > 0) {
            LOG.info("sink={} state=up after-failures={}", name, consecutiveFailures);
        }
        consecutiveFailures = 0;
        pausedUntil = 0;
        lastError = null;
    }

    /** What the circuit breaker counts; the reason is already in the delivery's row. */
    private static final class CallFailed extends Exception {
        CallFailed(String reason) {
            super(reason, null, false, false);
        }
    }
}
