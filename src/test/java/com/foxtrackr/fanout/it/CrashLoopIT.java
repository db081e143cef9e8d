package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A crash loop: while 20,000 messages arrive at QoS 2, the bundle is killed with SIGKILL five times at random
 * moments and started again. Every sink ends with every message: InfluxDB exactly, the archive exactly once,
 * the partner at least once, with each repeat under the same idempotency key.
 */
class CrashLoopIT {
    static final int N = 20_000;
    static final int KILLS = 5;
    /** The partner sink as an operator with a fleet far away sizes it: large batches, many calls in flight. */
    static final int PARTNER_BATCH = 400;
    static final int PARTNER_CONCURRENCY = 8;

    @Test
    void should_lose_and_double_nothing_across_five_kills_at_random_moments() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path directory = Files.createTempDirectory("archive");
        List<String> published = Messages.alternating(N, 200);
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Bundle bundle = new Bundle(broker, influx)
                     .withThreeSinks(directory, partner)
                     .with("FANOUT_SINK_ACME_BATCH_SIZE", String.valueOf(PARTNER_BATCH))
                     .with("FANOUT_SINK_ACME_CONCURRENCY", String.valueOf(PARTNER_CONCURRENCY))
                     .start();
             Publisher publisher = new Publisher(broker)) {
            CompletableFuture<Void> publishing = publisher.publishInBackground("foxtrackr/grp-a/V3.0/x", published);
            for (int kill = 0; kill < KILLS; kill++) {
                long before = OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen");
                // a random moment once the restarted bundle is taking messages again
                int after = 50 + random.nextInt(1500);
                await().atMost(Duration.ofSeconds(60)).until(() ->
                        OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") >= Math.min(N, before + after));
                bundle.kill();
                bundle.start();
            }
            publishing.get();
            await().atMost(Duration.ofMinutes(3)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding"),
                    equalTo(0L));
            assertEquals(N, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"), "seed " + seed);
            assertEquals(N / 2, influx.count("foxtrackr", "battery", "level"), "seed " + seed);
            assertEquals(N / 2, influx.count("foxtrackr", "temperature", "value"), "seed " + seed);
            for (String payload : published) {
                assertEquals(1, partner.keysByPayload.getOrDefault(payload, Set.of()).size(), "one key per payload, at least one call: " + payload);
            }
            assertEquals(N, partner.keysByPayload.size(), "the partner got nothing else");
            long repeats = partner.requests.get() - N;
            System.out.printf("crash loop (seed %d): %d kills, the partner got %d repeats of %d messages%n", seed, KILLS, repeats, N);
            // a kill repeats what was in flight and the last unsettled group (2 x concurrency), not the claimed batch
            assertTrue(repeats >= 0 && repeats <= KILLS * 3L * PARTNER_CONCURRENCY, "repeats: " + repeats + " (seed " + seed + ")");
        }
        List<byte[]> archived = S3Proxy.payloadsIn(directory);
        ArchiveIT.assertExactlyOnce(published, archived, "the archive (seed " + seed + ")");
    }
}
