package com.foxtrackr.fanout.observe;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Sink;

/**
 * One log line per sink at a steady interval while deliveries wait for it (a backlog draining, a sink down):
 * what waits, the delivery rate over the interval, and when it will be empty at that rate; one more line when
 * it has caught up. Nothing while all is current. A sink that delivers nothing says why: an archive waiting for its
 * batch to fill or age (by design), or a sink that is retrying (stalled, with its error).
 */
public class Progress {
    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

    /** An archive's batching: a batch is written when it holds size payloads or its oldest has waited maxAgeMs. */
    public record Batching(int size, long maxAgeMs) {
    }

    private final Backlog backlog;
    private final Metrics metrics;
    private final List<String> sinks;
    private final Function<String, Sink> states;
    private final Map<String, Batching> archives;
    private final Map<String, Long> deliveredBefore = new HashMap<>();
    private final Map<String, Boolean> waiting = new HashMap<>();
    private long before = System.currentTimeMillis();

    public Progress(Backlog backlog, Metrics metrics, List<String> sinks, Function<String, Sink> states, Map<String, Batching> archives) {
        this.backlog = backlog;
        this.metrics = metrics;
        this.sinks = sinks;
        this.states = states;
        this.archives = archives;
    }

    public synchronized void report() throws Exception {
        long now = System.currentTimeMillis();
        double seconds = Math.max(0.001, (now - before) / 1000.0);
        Backlog.Snapshot snapshot = backlog.snapshot();
        for (String sink : sinks) {
            long delivered = metrics.delivered(sink);
            // the first interval starts with the bundle, when nothing had been delivered
            double rate = (delivered - deliveredBefore.getOrDefault(sink, 0L)) / seconds;
            deliveredBefore.put(sink, delivered);
            long pending = snapshot.sink(sink).pending();
            Sink state = states.apply(sink);
            Batching batching = archives.get(sink);
            long oldestAgeMs = now - snapshot.sink(sink).oldestPendingReceivedMs();
            if (pending > 0 && rate < 1 && state != null && !"up".equals(state.state())) {
                LOG.warn("sink={} event=stalled pending={} state={} error=\"{}\"", sink, pending, state.state(), state.lastError());
                waiting.put(sink, true);
            } else if (pending > 0 && rate < 1 && batching != null && pending < batching.size() && oldestAgeMs < batching.maxAgeMs()) {
                LOG.info("sink={} event=waiting pending={} next-batch-in={} (a batch is written at {} payloads or when its oldest has waited {} ms)",
                        sink, pending, formatDuration((batching.maxAgeMs() - oldestAgeMs + 999) / 1000), batching.size(), batching.maxAgeMs());
                waiting.put(sink, true);
            } else if (pending > 0) {
                String eta = rate >= 1 ? formatDuration((long) (pending / rate)) : "unknown (nothing delivered in the interval)";
                LOG.info("sink={} event=draining pending={} rate={}/s empty-in={}", sink, pending, Math.round(rate), eta);
                waiting.put(sink, true);
            } else if (waiting.getOrDefault(sink, false)) {
                LOG.info("sink={} event=caught-up", sink);
                waiting.put(sink, false);
            }
        }
        before = now;
    }

    static String formatDuration(long seconds) {
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return seconds / 60 + "m" + seconds % 60 + "s";
        }
        return seconds / 3600 + "h" + seconds % 3600 / 60 + "m";
    }
}
