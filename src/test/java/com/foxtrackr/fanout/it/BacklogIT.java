package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backlog larger than the heap: 1,000,000 messages queued in the broker's persistent session drain into
 * InfluxDB, an S3 archive and a partner through a bundle run with a 256 MB heap (as Bundle runs every bundle).
 * Mosquitto 2.0 sends such a backlog all at once on reconnect; the bundle must hold back what it has not stored,
 * and its sinks must deliver while it ingests.
 */
class BacklogIT extends WithBrokerAndInflux {
    static final int TOTAL = 1_000_000;

    @Test
    void should_drain_a_backlog_of_a_million_messages_with_a_256m_heap() throws Exception {
        try (CountingPartner partner = new CountingPartner();
             S3Proxy s3 = new S3Proxy().start().createBucket("archive");
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_MQTT_QOS", "1")
                     .with("FANOUT_SINKS", "influx,archive,partner")
                     .withS3Sink("archive", s3, "archive")
                     .withHttpSink("partner", partner.url())
                     .with("FANOUT_SINK_PARTNER_CONCURRENCY", "8")
                     .with("FANOUT_SINK_PARTNER_BATCH_SIZE", "500")
                     .start()) {
            bundle.stop();
            Publisher.backlog(broker, 1, 0, TOTAL);
            bundle.start();
            // what InfluxDB and the partner had when ingest was nine tenths through: the sinks must not wait for ingest
            AtomicLong pointsWhileIngesting = new AtomicLong(-1);
            AtomicLong requestsWhileIngesting = new AtomicLong(-1);
            await().atMost(Duration.ofMinutes(15)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                long seen = OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen");
                if (seen >= TOTAL * 9 / 10 && pointsWhileIngesting.get() < 0) {
                    requestsWhileIngesting.set(partner.requests.get());
                    pointsWhileIngesting.set(influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value"));
                }
                return seen == TOTAL && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0;
            });

            assertFalse(bundle.output().contains("OutOfMemoryError"), "no out-of-memory error");
            assertEquals(TOTAL / 2, influx.count("foxtrackr", "battery", "level"));
            assertEquals(TOTAL / 2, influx.count("foxtrackr", "temperature", "value"));
            List<byte[]> archived = s3.payloads("archive");
            assertEquals(TOTAL, archived.size(), "as many payloads archived as published");
            Set<String> distinct = new HashSet<>();
            archived.forEach(p -> distinct.add(new String(p, StandardCharsets.UTF_8)));
            assertEquals(TOTAL, distinct.size(), "each payload archived once");
            assertEquals(TOTAL, partner.keysByPayload.size(), "every message at the partner");
            assertEquals(TOTAL, partner.requests.get(), "each message sent to the partner once");
            // before the outbox's write lock was fair, ingest's commits kept every sink out until ingest was done
            assertTrue(pointsWhileIngesting.get() > TOTAL / 4, "points written while ingest ran: " + pointsWhileIngesting);
            assertTrue(requestsWhileIngesting.get() > TOTAL / 10, "partner requests while ingest ran: " + requestsWhileIngesting);
        }
    }
}
