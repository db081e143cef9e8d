package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The broker over TLS: trusted through a PEM CA file or the JVM's trust store, with the broker's host name verified. */
class TlsIT {
    static Certificates ca;
    static Certificates otherCa;
    static Influx influx;

    @BeforeAll
    static void startServices() {
        ca = new Certificates("FoxTrackr test CA");
        otherCa = new Certificates("Some other CA");
        influx = new Influx().start().createDatabase("foxtrackr");
    }

    @AfterAll
    static void stopServices() {
        influx.close();
    }

    // With the broker's CA given as a PEM file, the bundle connects over TLS to ssl://localhost and messages flow.
    @Test
    void should_connect_over_tls_with_the_ca_file_and_deliver() throws Exception {
        try (Mosquitto broker = new Mosquitto().tls(ca.server("localhost")).start();
             Bundle bundle = new Bundle(broker, influx).with("FANOUT_MQTT_TLS_CA_FILE", ca.ca.toString()).start();
             Publisher publisher = new Publisher(broker)) {
            bundle.awaitLog("client-id=id-test-01 state=subscribed topic=foxtrackr/#");
            assertTrue(bundle.output().contains("client-id=id-test-01 state=connected url=ssl://localhost:" + broker.port), bundle.output());
            FailureIT.publishBatteries(publisher, 0, 20);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 20);
        }
    }

    // A broker certificate signed by a CA that is not in the CA file is refused, with one error line that says so.
    @Test
    void should_refuse_a_broker_certificate_from_another_ca() throws Exception {
        try (Mosquitto broker = new Mosquitto().tls(otherCa.server("localhost")).start();
             Bundle bundle = new Bundle(broker, influx).with("FANOUT_MQTT_TLS_CA_FILE", ca.ca.toString()).start()) {
            String line = "ERROR MqttSource - client-id=id-test-01 state=disconnected url=ssl://localhost:" + broker.port
                    + " error=\"TLS: the broker's certificate is not signed by a CA in fanout.mqtt.tls.ca-file (" + ca.ca + ")"
                    + " (unable to find valid certification path to requested target)\"";
            bundle.awaitLog(line);
            assertFalse(bundle.output().contains("state=connected"), bundle.output());
        }
    }

    // A certificate for another host name, even from the trusted CA, is refused: host name verification is on.
    @Test
    void should_refuse_a_broker_certificate_for_another_host_name() throws Exception {
        try (Mosquitto broker = new Mosquitto().tls(ca.server("broker.example.com")).start();
             Bundle bundle = new Bundle(broker, influx).with("FANOUT_MQTT_TLS_CA_FILE", ca.ca.toString()).start()) {
            String line = "ERROR MqttSource - client-id=id-test-01 state=disconnected url=ssl://localhost:" + broker.port
                    + " error=\"TLS: the broker's certificate is not for host localhost (No subject alternative DNS name matching localhost found.)\"";
            bundle.awaitLog(line);
            assertFalse(bundle.output().contains("state=connected"), bundle.output());
        }
    }

    // Without a CA file the JVM's trust store decides, and it does not hold the test's CA: the broker is refused.
    @Test
    void should_use_the_jvms_trust_store_without_a_ca_file() throws Exception {
        try (Mosquitto broker = new Mosquitto().tls(ca.server("localhost")).start();
             Bundle bundle = new Bundle(broker, influx).start()) {
            bundle.awaitLog("ERROR MqttSource - client-id=id-test-01 state=disconnected url=ssl://localhost:" + broker.port
                    + " error=\"TLS: the broker's certificate is not signed by a CA in the JVM's trust store"
                    + " (unable to find valid certification path to requested target)\"");
            assertFalse(bundle.output().contains("state=connected"), bundle.output());
        }
    }

    // A CA file that does not exist, or holds no PEM certificate, stops the start and names the property.
    @Test
    void should_refuse_to_start_with_a_ca_file_that_is_missing_or_not_a_pem_certificate() throws Exception {
        Certificates.Server server = ca.server("localhost");
        Path garbled = Files.createTempFile("garbled", ".pem");
        Files.writeString(garbled, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        try (Mosquitto broker = new Mosquitto().tls(server)) {
            assertStartRefused(broker, "FANOUT_MQTT_TLS_CA_FILE", "/nonexistent/ca.pem",
                    "fanout.mqtt.tls.ca-file is '/nonexistent/ca.pem', which is not a readable file");
            assertStartRefused(broker, "FANOUT_MQTT_TLS_CA_FILE", server.key().toString(),
                    "fanout.mqtt.tls.ca-file is '" + server.key() + "', which holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            assertStartRefused(broker, "FANOUT_MQTT_TLS_CA_FILE", garbled.toString(),
                    "fanout.mqtt.tls.ca-file is '" + garbled + "', which cannot be read as PEM certificates: ");
        }
        try (Mosquitto plain = new Mosquitto()) {
            assertStartRefused(plain, "FANOUT_MQTT_TLS_CA_FILE", ca.ca.toString(),
                    "fanout.mqtt.tls.ca-file is set, but fanout.mqtt.url ('" + plain.url() + "') does not use TLS: write ssl://host:8883");
        }
    }

    static void assertStartRefused(Mosquitto broker, String variable, String value, String message) throws Exception {
        StartupErrorsIT.assertRefusedToStart(new Bundle(broker, influx).with(variable, value), message);
    }
}
