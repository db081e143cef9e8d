package com.foxtrackr.fanout.observe;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Sink;
import com.foxtrackr.fanout.source.SourceState;

/**
 * Camel health checks, served at /observe/health: one per source (connected, storing, time since the last
 * message) and one per sink (up, retrying or circuit open, and what waits for it). DOWN says why.
 */
public final class FanoutHealth {
    private FanoutHealth() {
    }

    public static void source(CamelContext context, String name, SourceState state) {
        register(context, new AbstractHealthCheck("fanout", "source-" + name) {
            @Override
            protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
                builder.detail("client-id", state.clientId);
                builder.detail("url", state.url);
                builder.detail("received", state.received.get());
                builder.detail("reconnects", state.reconnects.get());
                if (state.lastMessageMs > 0) {
                    builder.detail("since-last-message-s", (System.currentTimeMillis() - state.lastMessageMs) / 1000);
                }
                if (state.heldBy != null) {
                    builder.detail("held-by", state.heldBy);
                }
                if (state.standby) {
                    builder.up().message("standing by: another instance consumes this source");
                } else if (!state.connected) {
                    builder.down().message("not connected to the broker: " + state.connectionError);
                } else if (state.storeError != null) {
                    builder.down().message("connected, but the outbox cannot store (nothing is acknowledged): " + state.storeError);
                } else {
                    builder.up();
                }
            }
        });
    }

    /** The sink is looked up at each call: it joins the outbox when its route is made, after this is registered. */
    public static void sink(CamelContext context, String name, java.util.function.Function<String, Sink> sinks, Backlog backlog) {
        register(context, new AbstractHealthCheck("fanout", "sink-" + name) {
            @Override
            protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
                Sink sink = sinks.apply(name);
                String state = sink.state();
                builder.detail("state", state);
                try {
                    Backlog.Snapshot counted = backlog.snapshot();
                    Backlog.Sink waiting = counted.sink(sink.name());
                    builder.detail("pending", waiting.pending());
                    builder.detail("counted-ago-s", Math.max(0, System.currentTimeMillis() - counted.takenMs()) / 1000);
                    if (waiting.oldestPendingReceivedMs() > 0) {
                        builder.detail("oldest-pending-age-s", (System.currentTimeMillis() - waiting.oldestPendingReceivedMs()) / 1000);
                    }
                    builder.detail("dead-letters", waiting.dead());
                } catch (Exception e) {
                    builder.detail("pending", "unknown: " + MessageValidator.reason(e));
                }
                if ("up".equals(state)) {
                    builder.up();
                } else {
                    builder.down().message(state + ": " + sink.lastError());
                }
            }
        });
    }

    private static void register(CamelContext context, AbstractHealthCheck check) {
        check.setCamelContext(context);
        HealthCheckRegistry.get(context).register(check);
    }
}
