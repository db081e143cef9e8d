package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A broker that requires a user and password, and refuses subscriptions outside the user's access. */
class BrokerAuthIT {
    static final String PASSWORD = "fanout-Pa55+w&rd=%41#x";
    Influx influx;

    @BeforeEach
    void startServices() {
        influx = new Influx().start().createDatabase("foxtrackr");
    }

    @AfterEach
    void stopServices() {
        influx.close();
    }

    Bundle bundle(Mosquitto broker, String password) {
        return new Bundle(broker, influx)
                .with("FANOUT_MQTT_USERNAME", "fanout")
                .with("FANOUT_MQTT_PASSWORD", password)
                // the back-off's first wait, shortened so that a few attempts fit in a test; it doubles each time
                .with("CAMEL_ROUTECONTROLLER_BACK_OFF_DELAY", "500");
    }

    // The right password, one that a URI would mangle (+ & = % #), connects and messages flow.
    @Test
    void should_connect_with_the_password_and_deliver() throws Exception {
        try (Mosquitto broker = new Mosquitto().user("fanout", PASSWORD).start();
             Bundle bundle = bundle(broker, PASSWORD).start();
             Publisher publisher = new Publisher(broker)) {
            bundle.awaitLog("client-id=id-test-01 state=subscribed topic=foxtrackr/#");
            FailureIT.publishBatteries(publisher, 0, 20);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 20);
        }
    }

    // A wrong password: each attempt is one error line naming the client id, the broker and the user (never the
    // password), one refused connection at the broker, and the waits between attempts double (no tight loop).
    @Test
    void should_report_a_refused_password_and_retry_with_a_growing_back_off() throws Exception {
        String wrong = "wrong-Pa55word-17";
        try (Mosquitto broker = new Mosquitto().user("fanout", PASSWORD).start();
             Bundle bundle = bundle(broker, wrong).start()) {
            String line = "ERROR MqttSource - client-id=id-test-01 state=disconnected url=" + broker.url()
                    + " error=\"not authorized: the broker refused user 'fanout' (Not authorized to connect: bad user name or"
                    + " password, or not allowed)\"";
            await().atMost(Duration.ofSeconds(30)).until(() -> lines(bundle.output(), line).size() >= 4);
            List<String> attempts = lines(bundle.output(), line);
            long refused = Files.readAllLines(broker.log()).stream().filter(l -> l.contains("disconnected, not authorised")).count();
            assertEquals(attempts.size(), refused, "one connection per attempt, no reconnect loop underneath");
            for (int i = 1; i < 4; i++) {
                long waited = millis(attempts.get(i)) - millis(attempts.get(i - 1));
                // Camel's back-off multiplies before the first retry too: 1 s, 2 s, 4 s, plus the refused attempt itself
                long backOff = 1000L << (i - 1);
                assertTrue(waited >= backOff && waited < backOff + 1500, "wait before attempt " + (i + 1) + ": " + waited + " ms");
            }
            assertFalse(bundle.output().contains(wrong), "the password never reaches the log");
            assertFalse(bundle.output().contains("state=connected"));
        }
    }

    // A subscription the broker refuses (SUBACK 0x80) is an error naming the topic and client id, and that source's
    // start fails and is retried; the other source, whose topic is allowed, delivers.
    @Test
    void should_report_a_refused_subscription_and_keep_the_allowed_source_running() throws Exception {
        try (Mosquitto broker = new Mosquitto().user("fanout", PASSWORD).allowSubscribe("fanout", "foxtrackr/north/#").start();
             Bundle bundle = bundle(broker, PASSWORD)
                     .with("FANOUT_SOURCES", "north,south")
                     .with("FANOUT_SOURCE_NORTH_CLIENT_ID", "id-test-01")
                     .with("FANOUT_SOURCE_NORTH_TOPIC", "foxtrackr/north/#")
                     .with("FANOUT_SOURCE_SOUTH_CLIENT_ID", "id-test-02")
                     .with("FANOUT_SOURCE_SOUTH_TOPIC", "foxtrackr/south/#")
                     .start();
             Publisher publisher = new Publisher(broker)) {
            String refused = "ERROR MqttSource - client-id=id-test-02 state=subscription-refused topic=foxtrackr/south/# url="
                    + broker.url() + " error=\"the broker refused the subscription (SUBACK 0x80): the topic filter is not"
                    + " allowed for this user\"";
            await().atMost(Duration.ofSeconds(30)).until(() -> lines(bundle.output(), refused).size() >= 2);
            bundle.awaitLog("client-id=id-test-01 state=subscribed topic=foxtrackr/north/#");
            assertFalse(bundle.output().contains("client-id=id-test-02 state=subscribed"), bundle.output());
            for (int i = 0; i < 10; i++) {
                publisher.publish("foxtrackr/north/V3.0/bat", Messages.battery("dev-n", Messages.T0 + i, i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 10);
            assertEquals(10, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
        }
    }

    static List<String> lines(String output, String text) {
        return output.lines().filter(l -> l.contains(text)).toList();
    }

    /** The time stamp at the start of a log line, in ms. */
    static long millis(String line) {
        return OffsetDateTime.parse(line.substring(0, line.indexOf(' '))).toInstant().toEpochMilli();
    }
}
