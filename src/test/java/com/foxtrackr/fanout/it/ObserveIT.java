package com.foxtrackr.fanout.it;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an operator reads at /observe/health and /observe/metrics, while messages flow and while a sink is down. */
class ObserveIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    // Counts that match what happened; InfluxDB down turns its check DOWN with the reason and its backlog
    // shows in health, metrics and a progress line; back up, the backlog drains and health is UP again.
    @Test
    void should_report_counts_and_a_sink_outage_in_health_and_metrics() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).with("FANOUT_PROGRESS_INTERVAL_MS", "500").start();
             Publisher publisher = new Publisher(broker)) {
            FailureIT.publishBatteries(publisher, 0, 40);
            publisher.publish(BAT, "{\"messageType\":1,");
            publisher.publish(BAT, "not json");
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.metric("fanout_deliveries_total{outcome=\"delivered\",sink=\"influx\"}"),
                    equalTo(40.0));
            assertEquals(40, bundle.metric("fanout_messages_stored_total"));
            assertEquals(2, bundle.metric("fanout_messages_rejected_total"));
            assertEquals(42, bundle.metric("fanout_mqtt_received_total{client_id=\"id-test-01\"}"));
            assertEquals(40, bundle.metric("fanout_end_to_end_lag_seconds_count{sink=\"influx\"}"));
            assertEquals(1, bundle.metric("fanout_mqtt_connected{client_id=\"id-test-01\"}"));
            Bundle.Health health = bundle.health();
            assertEquals(200, health.status());
            assertEquals("UP", health.check("source-fleet"));
            assertEquals(42, health.data("source-fleet").path("received").asLong());
            assertEquals("UP", health.check("sink-influx"));

            influx.stop();
            FailureIT.publishBatteries(publisher, 40, 50);
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.health().status() == 503);
            health = bundle.health();
            assertEquals("DOWN", health.check("sink-influx"));
            assertEquals("UP", health.check("source-fleet"), "ingestion goes on");
            assertTrue(health.body().toString().contains("retrying: "), health.body().toString());
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.metric("fanout_outbox_pending{sink=\"influx\"}"), equalTo(10.0));
            assertEquals(10, bundle.health().data("sink-influx").path("pending").asLong());
            assertTrue(bundle.health().data("sink-influx").path("counted-ago-s").canConvertToLong(), "how old the count is");
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.output().contains(
                    "WARN  Progress - sink=influx event=stalled pending=10 state=retrying error=\""));

            influx.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> bundle.metric("fanout_outbox_pending{sink=\"influx\"}"), equalTo(0.0));
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.health().status() == 200);
            assertEquals(50, influx.count("foxtrackr", "battery", "level"));
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.output().contains("sink=influx event=caught-up"));
            assertTrue(bundle.metric("fanout_deliveries_total{outcome=\"retried\",sink=\"influx\"}") >= 1);
        }
    }
}
