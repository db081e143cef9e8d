package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The built jar against real Mosquitto and InfluxDB: exact counts for a mixed stream. */
class EndToEndIT {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    static final String TEMP = "foxtrackr/grp-a/V3.0/temp";
    static Mosquitto broker;
    static Influx influx;

    @BeforeAll
    static void startServices() {
        broker = new Mosquitto().start();
        influx = new Influx().start().createDatabase("foxtrackr").createDatabase("replica");
    }

    @AfterAll
    static void stopServices() {
        broker.close();
        influx.close();
    }

    // Good, other, hostile and invalid messages interleaved: exactly the good points arrive, in both
    // InfluxDB sinks (the second one added by properties alone), and exactly the invalid ones are kept.
    @Test
    void should_write_exact_points_and_keep_exactly_the_invalid_payloads() throws Exception {
        List<byte[]> invalid = invalidPayloads();
        List<String> hostileIds = List.of("a,b=c d", "quote\"d", "sp ace", "../../etc", "x=y", "tab\u00e9", "emoji\uD83D\uDE00");
        try (Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,replica")
                .with("FANOUT_SINK_REPLICA_TYPE", "influxdb")
                .with("FANOUT_SINK_REPLICA_URL", influx.url())
                .with("FANOUT_SINK_REPLICA_DATABASE", "replica")
                .with("FANOUT_SINK_REPLICA_KINDS", "battery")
                .start();
             Publisher publisher = new Publisher(broker)) {
            List<String> batteries = new ArrayList<>();
            int bad = 0;
            for (int i = 0; i < 400; i++) {
                String battery = Messages.battery("dev-" + (i % 40), Messages.T0 + i * 1000L, i % 100);
                batteries.add(battery);
                publisher.publish(BAT, battery);
                if (i < 300) {
                    publisher.publish(TEMP, Messages.temperature("dev-" + (i % 30), Messages.T0 + i * 1000L, 20.5));
                }
                if (i < 100) {
                    publisher.publish("foxtrackr/grp-a/V3.0/pos", Messages.position("dev-1", Messages.T0 + i));
                }
                if (i % 10 == 0 && bad < invalid.size()) {
                    publisher.publish(BAT, invalid.get(bad++));
                }
            }
            while (bad < invalid.size()) {
                publisher.publish(BAT, invalid.get(bad++));
            }
            for (int i = 0; i < hostileIds.size(); i++) {
                publisher.publish(BAT, Messages.battery(hostileIds.get(i), Messages.T0 + i, 50));
            }
            // Repeats, as a QoS 1 redelivery or a replay would bring them: stored once.
            for (String battery : batteries.subList(0, 50)) {
                publisher.publish(BAT, battery);
            }

            int expectedBattery = 400 + hostileIds.size();
            await().atMost(Duration.ofSeconds(60)).until(() -> influx.count("foxtrackr", "battery", "level") == expectedBattery
                    && influx.count("foxtrackr", "temperature", "value") == 300
                    && influx.count("replica", "battery", "level") == expectedBattery
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM rejected") == invalid.size());
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM message") == 0);

            assertEquals(0, influx.count("replica", "temperature", "value"), "the replica accepts battery only");
            assertEquals(expectedBattery + 300 + 100 + invalid.size(), OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"),
                    "every distinct payload, accepted or rejected, is remembered once");
            List<String> ids = influx.tagValues("foxtrackr", "battery", "deviceId");
            for (String id : hostileIds) {
                assertTrue(ids.contains(id), "device id written exactly: " + id + " in " + ids);
            }
            assertEquals(List.of("grp-a"), influx.tagValues("foxtrackr", "battery", "group"));

            List<OutboxDb.Rejected> rejected = OutboxDb.rejected(bundle.outbox());
            for (int i = 0; i < invalid.size(); i++) {
                assertArrayEquals(invalid.get(i), rejected.get(i).payload(), "original bytes kept for invalid payload " + i);
                assertEquals(BAT, rejected.get(i).topic());
                assertFalse(rejected.get(i).reason().isBlank());
            }
        }
    }

    // Several topic filters, one per device group, each its own client id and persistent session.
    @Test
    void should_take_every_subscribed_group_and_nothing_else() throws Exception {
        influx.query(null, "DROP DATABASE \"groups\"");
        influx.createDatabase("groups");
        try (Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_SINK_INFLUX_DATABASE", "groups")
                .with("FANOUT_SOURCES", "group-a,group-b")
                .with("FANOUT_SOURCE_GROUP_A_CLIENT_ID", "id-test-11")
                .with("FANOUT_SOURCE_GROUP_A_TOPIC", "foxtrackr/grp-a/#")
                .with("FANOUT_SOURCE_GROUP_B_CLIENT_ID", "id-test-12")
                .with("FANOUT_SOURCE_GROUP_B_TOPIC", "foxtrackr/grp-b/+/bat")
                .start();
             Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < 100; i++) {
                for (String group : List.of("grp-a", "grp-b", "grp-c")) {
                    publisher.publish("foxtrackr/" + group + "/V3.0/bat", Messages.battery("d-" + group, Messages.T0 + i, i));
                }
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("groups", "battery", "level") == 200
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            assertEquals(List.of("grp-a", "grp-b"), influx.tagValues("groups", "battery", "group"));
            assertEquals(200, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
        }
    }

    /** The shared samples plus payloads that only bytes can express. */
    static List<byte[]> invalidPayloads() throws IOException, URISyntaxException {
        List<byte[]> payloads = new ArrayList<>();
        Path samples = Path.of(EndToEndIT.class.getResource("/samples/invalid").toURI());
        try (Stream<Path> files = Files.list(samples)) {
            for (Path file : files.sorted().toList()) {
                payloads.add(Files.readAllBytes(file));
            }
        }
        String ok = Messages.battery("dev-x", Messages.T0, 1);
        payloads.add(ok.replace("\"level\":1", "\"level\":1,\"pad\":\"" + "x".repeat(70_000) + "\"").getBytes(StandardCharsets.UTF_8));
        payloads.add(Messages.battery("line\nbreak", Messages.T0, 1).getBytes(StandardCharsets.UTF_8));
        payloads.add(Messages.battery("", Messages.T0, 1).getBytes(StandardCharsets.UTF_8));
        payloads.add(ok.replace("\"deviceId\"", "\"deviceId\":\"twice\",\"deviceId\"").getBytes(StandardCharsets.UTF_8));
        payloads.add(ok.replace("\"level\":1", "\"level\":NaN").getBytes(StandardCharsets.UTF_8));
        payloads.add(ok.replace("\"timeMs\":" + Messages.T0, "\"timeMs\":-5").getBytes(StandardCharsets.UTF_8));
        payloads.add(ok.replace("\"timeMs\":" + Messages.T0, "\"timeMs\":1.5e12").getBytes(StandardCharsets.UTF_8));
        payloads.add(("{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}").getBytes(StandardCharsets.UTF_8));
        byte[] notUtf8 = ok.replace("dev-x", "dev-\u00ff").getBytes(StandardCharsets.ISO_8859_1);
        payloads.add(notUtf8);
        payloads.add(new byte[0]);
        return payloads;
    }
}
