package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A long outage of two sinks in a continuous stream (scaled to a test: 100 messages a second for 40 s, InfluxDB
 * stopped and the partner answering 503 for 20 s of it): ingestion keeps pace, the outbox grows and drains, the archive stays
 * current all along, and nothing is lost or dead-lettered.
 */
class SinkOutageIT {
    static final int RATE = 100;
    static final int N = 4000;

    @Test
    void should_keep_ingesting_and_archiving_while_influxdb_and_a_partner_are_down_and_lose_nothing() throws Exception {
        Path directory = Files.createTempDirectory("archive");
        ScheduledExecutorService pace = Executors.newSingleThreadScheduledExecutor();
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "influx,local,acme")
                     .with("FANOUT_SINK_LOCAL_TYPE", "directory")
                     .with("FANOUT_SINK_LOCAL_DIRECTORY", directory.toString())
                     .with("FANOUT_SINK_LOCAL_BATCH_SIZE", "100")
                     .with("FANOUT_SINK_LOCAL_MAX_AGE_MS", "200")
                     .withHttpSink("acme", partner.url())
                     .with("FANOUT_SINK_ACME_RETRY_INITIAL_DELAY_MS", "200")
                     .with("FANOUT_SINK_ACME_RETRY_MAX_DELAY_MS", "2000")
                     .with("FANOUT_SINK_ACME_CIRCUIT_OPEN_MS", "1000")
                     .start();
             Publisher publisher = new Publisher(broker)) {
            AtomicInteger published = new AtomicInteger();
            pace.scheduleAtFixedRate(() -> {
                int i = published.get();
                if (i < N) {
                    try {
                        publisher.publish("foxtrackr/grp-a/V3.0/bat", Messages.battery("dev-" + (i % 50), Messages.T0 + i * 1000L, i % 100));
                        published.incrementAndGet();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }, 0, 1000 / RATE, TimeUnit.MILLISECONDS);

            await().atMost(Duration.ofSeconds(30)).until(() -> published.get() >= 10 * RATE);
            influx.stop();
            partner.down = true;
            int atOutage = published.get();
            int worstIngestLag = 0;
            int worstArchiveLag = 0;
            long outboxPeak = 0;
            // 20 s of outage, sampled by what has been published: never by a clock of the test's own
            while (published.get() < atOutage + 20 * RATE) {
                int sent = published.get();
                long stored = OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen");
                long archivePending = OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'local'");
                worstIngestLag = Math.max(worstIngestLag, (int) (sent - stored));
                worstArchiveLag = Math.max(worstArchiveLag, (int) archivePending);
                outboxPeak = Math.max(outboxPeak, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'influx'"));
                await().atMost(Duration.ofSeconds(10)).until(() -> published.get() >= sent + RATE / 2);
            }
            influx.start();
            partner.down = false;

            await().atMost(Duration.ofSeconds(60)).until(published::get, equalTo(N));
            await().atMost(Duration.ofMinutes(2)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding"), equalTo(0L));
            assertTrue(worstIngestLag <= RATE, "ingestion kept pace during the outage: at worst " + worstIngestLag + " behind");
            assertTrue(worstArchiveLag <= 3 * RATE, "the archive stayed current: at worst " + worstArchiveLag + " waiting");
            assertTrue(outboxPeak >= 15 * RATE, "InfluxDB's deliveries waited in the outbox: " + outboxPeak);
            assertEquals(N, influx.count("foxtrackr", "battery", "level"));
            assertEquals(N, partner.keysByPayload.size());
            assertTrue(partner.keysByPayload.values().stream().allMatch(keys -> keys.size() == 1), "one key per message");
            assertEquals(0, bundle.metric("fanout_dead_letters{sink=\"acme\"}") + bundle.metric("fanout_dead_letters{sink=\"influx\"}"));
        } finally {
            pace.shutdownNow();
        }
        assertEquals(N, S3Proxy.payloadsIn(directory).size());
    }
}
