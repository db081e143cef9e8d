package com.foxtrackr.fanout.observe;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Batch;
import com.foxtrackr.fanout.source.SourceState;

/**
 * The bundle's own Prometheus metrics (fanout_*), in the registry that Camel serves at /observe/metrics:
 * what came in, what each sink did with it, what waits, and how late it arrives (now minus timeMs).
 */
public class Metrics {
    private final MeterRegistry registry;
    private final Counter stored;
    private final Counter repeated;
    private final Counter rejected;

    public Metrics(MeterRegistry registry) {
        this.registry = registry;
        stored = Counter.builder("fanout.messages.stored").description("messages stored in the outbox (repeats excluded)")
                .register(registry);
        repeated = Counter.builder("fanout.messages.repeated").description("repeats recognised by key and not stored again")
                .register(registry);
        rejected = Counter.builder("fanout.messages.rejected").description("payloads refused and kept as rejected input")
                .register(registry);
    }

    /** For the outbox's unit tests, which do not serve metrics. */
    public static Metrics none() {
        return new Metrics(new SimpleMeterRegistry());
    }

    public void ingested(int stored, int repeated, int rejected) {
        this.stored.increment(stored);
        this.repeated.increment(repeated);
        this.rejected.increment(rejected);
    }

    /** Deliveries to a sink since start. */
    long delivered(String sink) {
        return (long) deliveries(sink, "delivered").count();
    }

    public void delivered(String sink, List<Batch.Item> items) {
        deliveries(sink, "delivered").increment(items.size());
        Timer lag = Timer.builder("fanout.end.to.end.lag").description("from the message's timeMs to its delivery, per sink")
                .tag("sink", sink).publishPercentileHistogram().maximumExpectedValue(Duration.ofDays(8)).register(registry);
        long now = System.currentTimeMillis();
        for (Batch.Item item : items) {
            lag.record(Math.max(0, now - item.timeMs()), TimeUnit.MILLISECONDS);
        }
    }

    public void retried(String sink, int count) {
        deliveries(sink, "retried").increment(count);
    }

    public void deadLettered(String sink, int count) {
        deliveries(sink, "dead-lettered").increment(count);
    }

    private Counter deliveries(String sink, String outcome) {
        return Counter.builder("fanout.deliveries").description("delivery attempts per sink and outcome")
                .tags("sink", sink, "outcome", outcome).register(registry);
    }

    /** For the status page: a counter's total so far, 0 before it first counts. */
    long count(String name, String... tags) {
        Counter counter = registry.find(name).tags(tags).counter();
        return counter == null ? 0 : (long) counter.count();
    }

    /** For the status page: a sink's deliveries with this outcome (delivered, retried, dead-lettered) so far. */
    long outcomes(String sink, String outcome) {
        return count("fanout.deliveries", "sink", sink, "outcome", outcome);
    }

    /** Gauges read from the outbox when scraped. */
    public void backlog(String sink, Backlog backlog) {
        gauge("fanout.outbox.pending", "deliveries waiting for this sink", sink, backlog, Backlog.Sink::pending);
        gauge("fanout.outbox.oldest.pending.age.seconds", "how long the oldest delivery waiting for this sink has waited", sink,
                backlog, b -> b.oldestPendingReceivedMs() == 0 ? 0 : (System.currentTimeMillis() - b.oldestPendingReceivedMs()) / 1000.0);
        gauge("fanout.dead.letters", "dead letters kept for this sink", sink, backlog, Backlog.Sink::dead);
    }

    public void source(SourceState state) {
        FunctionCounter.builder("fanout.mqtt.received", state, s -> s.received.get())
                .description("messages received from the broker").tag("client_id", state.clientId).register(registry);
        FunctionCounter.builder("fanout.mqtt.reconnects", state, s -> s.reconnects.get())
                .description("reconnections to the broker").tag("client_id", state.clientId).register(registry);
        FunctionCounter.builder("fanout.mqtt.not.stored", state, s -> s.notStored.get())
                .description("messages the outbox could not store (not acknowledged)").tag("client_id", state.clientId).register(registry);
        Gauge.builder("fanout.mqtt.connected", state, s -> s.connected ? 1 : 0)
                .description("1 while connected to the broker").tag("client_id", state.clientId).register(registry);
        Gauge.builder("fanout.source.standby", state, s -> s.standby ? 1 : 0)
                .description("1 while another instance consumes the source (a shared outbox)").tag("client_id", state.clientId)
                .register(registry);
        FunctionCounter.builder("fanout.source.taken", state, s -> s.taken.get())
                .description("times this instance took the source over (a shared outbox)").tag("client_id", state.clientId)
                .register(registry);
    }

    /** NaN when the outbox cannot be read just now: unknown, rather than a misleading zero. */
    private void gauge(String name, String description, String sink, Backlog backlog, BacklogValue value) {
        Gauge.builder(name, backlog, b -> {
            try {
                return value.of(b.snapshot().sink(sink));
            } catch (Exception e) {
                return Double.NaN;
            }
        }).description(description).tag("sink", sink).register(registry);
    }

    private interface BacklogValue {
        double of(Backlog.Sink sink);
    }
}
