package com.foxtrackr.fanout.it;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Failure paths with exact counts: a sink down, the bundle stopped or killed, the broker down at start. */
class FailureIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    // InfluxDB goes down while messages arrive: ingestion stores every one of them meanwhile, and once
    // InfluxDB is back every point arrives.
    @Test
    void should_keep_ingesting_while_influxdb_is_down_and_deliver_everything_after() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            publishBatteries(publisher, 0, 300);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 300);

            influx.stop();
            publishBatteries(publisher, 300, 1000);
            // Stored (and so acknowledged) while the sink is down: the broker's queue does not grow.
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'influx'") == 700);
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.output().contains("sink=influx state=retrying"));
            // the error names where the sink tried to deliver
            assertTrue(bundle.output().matches("(?s).*sink=influx state=retrying failures=\\d+ retry-in-ms=\\d+ target=" + influx.url()
                    + " error=\".*"), bundle.output());

            influx.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> influx.count("foxtrackr", "battery", "level") == 1000
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.output().contains("sink=influx state=up"));
        }
    }

    // A point InfluxDB refuses (a field that changes type) goes to the sink's dead-letter queue alone, with
    // InfluxDB's reason from its own attempt (its batch's failure only isolated it); the points around it are written.
    @Test
    void should_dead_letter_only_the_point_influxdb_refuses() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            publishBatteries(publisher, 0, 100);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 100);
            bundle.stop();
            // Queued while the bundle is down, so they come back in one batch.
            publishBatteries(publisher, 100, 150);
            publisher.publish(BAT, Messages.battery("dev-x", Messages.T0, 1).replace("\"charging\":false", "\"charging\":5"));
            publishBatteries(publisher, 150, 200);
            bundle.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 200
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE state = 'pending'") == 0);
            assertEquals(1, OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM delivery WHERE state = 'dead' AND attempts = 1 AND last_error LIKE '%field type conflict%'"
                            + " AND first_error = last_error"));
            assertEquals(1, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM message"), "only the dead letter's message is kept");
        }
    }

    // Messages published while the bundle is stopped wait in its persistent session and all arrive.
    @Test
    void should_deliver_what_was_published_while_the_bundle_was_stopped() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            publishBatteries(publisher, 0, 100);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 100);
            bundle.stop();
            publishBatteries(publisher, 100, 600);
            bundle.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> influx.count("foxtrackr", "battery", "level") == 600);
        }
    }

    // SIGKILL in the middle of a stream at QoS 2: after a restart every message is there, exactly once.
    @Test
    void should_lose_nothing_when_killed_in_the_middle_of_a_stream() throws Exception {
        int total = 3000;
        try (Bundle bundle = new Bundle(broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            AtomicInteger published = new AtomicInteger();
            CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < total; i++) {
                        publisher.publish(BAT, Messages.battery("dev-" + (i % 50), Messages.T0 + i * 1000L, i % 100));
                        published.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> influx.count("foxtrackr", "battery", "level") >= 500);
            bundle.kill();
            publishing.get();
            bundle.start();
            await().atMost(Duration.ofSeconds(90)).until(() -> influx.count("foxtrackr", "battery", "level") == total
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            assertEquals(total, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"), "each message stored once");
        }
    }

    // The outbox cannot write (another process holds its lock): nothing is acknowledged, the log says so once,
    // and once the store works again the reconnects have the broker send everything, stored once.
    @Test
    void should_not_acknowledge_what_it_cannot_store_and_recover_without_loss() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            publishBatteries(publisher, 0, 100);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 100);
            try (AutoCloseable lock = OutboxDb.lock(bundle.outbox())) {
                publishBatteries(publisher, 100, 400);
                await().atMost(Duration.ofSeconds(60)).until(() -> bundle.output().contains("client-id=id-test-01 state=store-failing"));
                // still failing after the first reconnect: it tries again, later
                await().atMost(Duration.ofSeconds(60)).until(() -> bundle.output().split("event=reconnect ", -1).length - 1 >= 2);
                assertEquals(100, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
            }
            await().atMost(Duration.ofSeconds(90)).until(() -> influx.count("foxtrackr", "battery", "level"), equalTo(400L));
            assertEquals(400, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
            assertTrue(bundle.output().contains("client-id=id-test-01 state=storing"));
            assertEquals(1, bundle.output().split("state=store-failing", -1).length - 1, "said once");
            assertFalse(bundle.output().contains("Exhausted"), "no error per message");
        }
    }

    // Mosquitto, with its persistence, restarted twice: while it is down health says so; the bundle reconnects
    // by itself and resumes its session, including what was queued for it across a restart.
    @Test
    void should_resume_its_session_after_broker_restarts() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start()) {
            try (Publisher publisher = new Publisher(broker)) {
                publishBatteries(publisher, 0, 200);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 200);

            broker.stop();
            await().atMost(Duration.ofSeconds(30)).until(() -> "DOWN".equals(bundle.health().check("source-fleet")));
            assertEquals(503, bundle.health().status());
            assertTrue(bundle.health().body().toString().contains("not connected to the broker"));
            broker.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> "UP".equals(bundle.health().check("source-fleet")));
            try (Publisher publisher = new Publisher(broker)) {
                publishBatteries(publisher, 200, 400);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 400);

            // queued for the stopped bundle, kept across the broker's restart by its persistence
            bundle.stop();
            try (Publisher publisher = new Publisher(broker)) {
                publishBatteries(publisher, 400, 600);
            }
            broker.stop();
            broker.start();
            bundle.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> influx.count("foxtrackr", "battery", "level"), equalTo(600L));
            assertEquals(600, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
            assertTrue(bundle.metric("fanout_mqtt_reconnects_total{client_id=\"id-test-01\"}") == 0, "a new process counts anew");
        }
    }

    // A QoS 2 backlog larger than the packet-id space: Mosquitto 2.0 then sends messages with the id of one
    // still in flight, which Paho would deliver once and acknowledge twice. Every message is stored, once.
    @Test
    void should_store_every_message_of_a_qos2_backlog_of_more_than_65535() throws Exception {
        int total = 100_000;
        try (Bundle bundle = new Bundle(broker, influx).with("FANOUT_SINK_INFLUX_BATCH_SIZE", "10000").start()) {
            bundle.stop();
            Publisher.backlog(broker, 2, 0, total);
            bundle.start();
            // Mosquitto drains such a queue at a few hundred messages a second, busy on one core (2 to 3 minutes here)
            await().atMost(Duration.ofMinutes(8)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"), equalTo((long) total));
            await().atMost(Duration.ofMinutes(1)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding"), equalTo(0L));
            assertEquals(total / 2, influx.count("foxtrackr", "battery", "level"));
            assertEquals(total / 2, influx.count("foxtrackr", "temperature", "value"));
            assertTrue(bundle.output().contains("event=packet-id-reused"), "the broker did reuse packet ids");
        }
    }

    // The archive's S3 store down when the bundle starts: the bundle starts anyway and InfluxDB gets everything;
    // the archive retries and has every payload, once, when the store is up. (Camel's S3 endpoint checks its
    // bucket when it starts: started with the route, it stopped the whole bundle.)
    @Test
    void should_start_while_the_archive_store_is_down_and_archive_everything_once_it_is_up() throws Exception {
        try (S3Proxy s3 = new S3Proxy();
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "influx,archive")
                     .withS3Sink("archive", s3, "archive")
                     .with("FANOUT_SINK_ARCHIVE_MAX_AGE_MS", "500")
                     .with("FANOUT_SINK_ARCHIVE_LINGER_MS", "100")
                     .with("FANOUT_SINK_ARCHIVE_RETRY_MAX_DELAY_MS", "1000")
                     .start()) {
            try (Publisher publisher = new Publisher(broker)) {
                publishBatteries(publisher, 0, 50);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 50);
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("sink=archive state=retrying"));
            s3.start().createBucket("archive");
            await().atMost(Duration.ofSeconds(30)).until(() -> s3.payloads("archive").size() >= 50);
            assertEquals(50, s3.payloads("archive").stream().map(String::new).distinct().count(), "every payload once");
            assertEquals(50, s3.payloads("archive").size(), "no payload twice");
        }
    }

    // A broker that is down when the bundle starts is retried until it is up; then messages flow.
    @Test
    void should_connect_once_the_broker_comes_up_after_the_bundle() throws Exception {
        broker.stop();
        try (Bundle bundle = new Bundle(broker, influx).start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("client-id=id-test-01 state=disconnected"));
            broker.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("client-id=id-test-01 state=connected"));
            try (Publisher publisher = new Publisher(broker)) {
                publishBatteries(publisher, 0, 50);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 50);
        }
    }

    static void publishBatteries(Publisher publisher, int from, int to) throws Exception {
        for (int i = from; i < to; i++) {
            publisher.publish(BAT, Messages.battery("dev-" + (i % 50), Messages.T0 + i * 1000L, i % 100));
        }
    }
}
