package com.foxtrackr.fanout.it;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batching partner sink (type http-batch) against a real HTTP server, with exact counts: every message reaches
 * the partner under one Idempotency-Key, whatever fails in between, and a refused message dead-letters only itself.
 */
class PartnerBatchIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";

    Bundle bundle(CountingPartner partner) {
        return new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,acme")
                .with("FANOUT_SINK_ACME_TYPE", "http-batch")
                .with("FANOUT_SINK_ACME_URL", partner.url())
                .with("FANOUT_SINK_ACME_BATCH_SIZE", "100")
                .with("FANOUT_SINK_ACME_MAX_AGE_MS", "200")
                .with("FANOUT_SINK_ACME_LINGER_MS", "50")
                .with("FANOUT_SINK_ACME_RETRY_INITIAL_DELAY_MS", "100")
                .with("FANOUT_SINK_ACME_RETRY_MAX_DELAY_MS", "500");
    }

    /**
     * The keys under which the partner took the messages, each with the messages it carried: a partner that keeps
     * one call per key then has each message once exactly when no message came under two keys.
     */
    static Map<String, Set<String>> messagesByKey(CountingPartner partner) {
        Map<String, Set<String>> byKey = new HashMap<>();
        partner.keysByPayload.forEach((payload, keys) -> keys.forEach(key -> byKey.computeIfAbsent(key, k -> new HashSet<>()).add(payload)));
        return byKey;
    }

    // A partner failing 10% of its calls at random (503s and closed connections), calls cut to 4,000 bytes (parts
    // of a batch, sent again with it when one of its parts fails), and the bundle killed with SIGKILL while it sends: every message reaches the partner, each under
    // one key only, which every retry of its call repeated; nothing is dead-lettered.
    @Test
    void should_send_each_message_under_one_key_across_partner_errors_and_a_kill() throws Exception {
        int total = 3000;
        try (CountingPartner partner = new CountingPartner();
             Bundle bundle = bundle(partner).with("FANOUT_SINK_ACME_MAX_BYTES", "4000").start();
             Publisher publisher = new Publisher(broker)) {
            partner.failureRate = 0.1;
            CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> {
                try {
                    FailureIT.publishBatteries(publisher, 0, total);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> partner.taken.get() >= 500);
            bundle.kill();
            publishing.get();
            bundle.start();
            await().atMost(Duration.ofSeconds(120)).until(() -> partner.keysByPayload.size() == total
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            assertTrue(partner.failed.get() > 0, "the partner did fail calls");
            assertTrue(partner.largestBody.get() <= 4000, "largest call: " + partner.largestBody.get() + " bytes");
            assertEquals(total, partner.keysByPayload.values().stream().filter(keys -> keys.size() == 1).count(),
                    "each message under one key");
            assertEquals(total, messagesByKey(partner).values().stream().mapToInt(Set::size).sum(), "no message in two calls of different keys");
            assertTrue(partner.requests.get() < total / 5, "batches, not a call per message: " + partner.requests.get() + " calls");
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"));
            assertEquals(total, influx.count("foxtrackr", "battery", "level"));
        }
    }

    // One message the partner refuses (400 for any call that holds it), as NDJSON: the calls holding it are split
    // until it is alone; it alone goes to the dead letters with the partner's answer, and every other message is
    // taken exactly once, in a few more calls than batches.
    @Test
    void should_dead_letter_only_the_message_the_partner_refuses() throws Exception {
        int total = 500;
        try (CountingPartner partner = new CountingPartner();
             Bundle bundle = bundle(partner).with("FANOUT_SINK_ACME_FORMAT", "ndjson").start();
             Publisher publisher = new Publisher(broker)) {
            partner.refuseContaining = "\"deviceId\":\"dev-poison\"";
            FailureIT.publishBatteries(publisher, 0, 250);
            publisher.publish(BAT, Messages.battery("dev-poison", Messages.T0, 50));
            FailureIT.publishBatteries(publisher, 250, total);
            await().atMost(Duration.ofSeconds(60)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding"
                    + " WHERE sink = 'acme' AND state = 'pending'") == 0 && partner.keysByPayload.size() == total);
            assertEquals(1, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead'"
                    + " AND attempts = 1 AND last_error = 'HTTP 400: refused: \"deviceId\":\"dev-poison\"'"));
            assertEquals(total, partner.taken.get(), "every other message taken once");
            // the poison's batch, of at most 100 messages, is halved at most 7 times: one of the halves is refused
            assertTrue(partner.refused.get() <= 8, "refused calls: " + partner.refused.get());
            assertTrue(partner.requests.get() <= total / 5, "batches, not a call per message: " + partner.requests.get() + " calls");
            assertEquals(total + 1, influx.count("foxtrackr", "battery", "level"), "InfluxDB got every message");
        }
    }
}
