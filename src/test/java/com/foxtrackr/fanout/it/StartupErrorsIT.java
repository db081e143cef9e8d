package com.foxtrackr.fanout.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration mistakes stop the start with a message that names the property and what is wrong. */
class StartupErrorsIT {
    static Mosquitto broker;
    static Influx influx;

    @BeforeAll
    static void startServices() {
        broker = new Mosquitto().start();
        influx = new Influx().start();
    }

    @AfterAll
    static void stopServices() {
        broker.close();
        influx.close();
    }

    // A partner sink is properties alone, so its mistakes are caught the same way.
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "FANOUT_SINK_ACME_URL             |             | fanout.sink.acme.url is required",
        "FANOUT_SINK_ACME_URL             | ftp://example.com/in | fanout.sink.acme.url must be an http:// or https:// URL with a host",
        "FANOUT_SINK_ACME_CONCURRENCY     | many        | fanout.sink.acme.concurrency must be a whole number, not 'many'",
        "FANOUT_SINK_ACME_HEADERS         | X-Fleet     | fanout.sink.acme.headers has 'X-Fleet': write Name: value",
        "FANOUT_SINK_ACME_BEARER_TOKEN    | a\u0001b    | fanout.sink.acme.bearer-token contains a control character",
        "FANOUT_SINK_ACME_TYPE            | s3          | fanout.sink.acme.bucket is required",
        "FANOUT_SINK_ACME_STEPS           | direct:nowhere | fanout.sink.acme.steps is 'direct:nowhere', but no route in routes/ starts from it",
    })
    void should_refuse_a_partner_sink_with_a_mistake(String variable, String value, String message) throws Exception {
        Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,acme")
                .withHttpSink("acme", "http://127.0.0.1:9/x")
                .with(variable, value == null ? "" : value.replace("\\u0001", "\u0001"));
        bundle.launch();
        int exit = bundle.awaitExit();
        String output = bundle.output();
        assertEquals(2, exit, output);
        assertTrue(output.contains("ERROR Configuration error: " + message), output);
    }

    // A batching partner's format is one of the two it can be.
    @org.junit.jupiter.api.Test
    void should_refuse_a_batching_partner_with_an_unknown_format() throws Exception {
        Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,acme")
                .withHttpSink("acme", "http://127.0.0.1:9/x")
                .with("FANOUT_SINK_ACME_TYPE", "http-batch")
                .with("FANOUT_SINK_ACME_FORMAT", "xml");
        bundle.launch();
        int exit = bundle.awaitExit();
        String output = bundle.output();
        assertEquals(2, exit, output);
        assertTrue(output.contains("ERROR Configuration error: fanout.sink.acme.format is 'xml': write json-array or ndjson"), output);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "FANOUT_SOURCE_FLEET_CLIENT_ID    | acme-1      | fanout.source.fleet.client-id is 'acme-1', but the vendor requires id-<given>-<nn>",
        "FANOUT_SINK_INFLUX_TYPE          | influxdbb   | fanout.sink.influx.type names no known type",
        "FANOUT_SINK_INFLUX_BATCH_SIZE    | lots        | fanout.sink.influx.batch-size must be a whole number, not 'lots'",
        "FANOUT_SINK_INFLUX_KINDS         | other       | fanout.sink.influx.kinds must list series kinds",
        "FANOUT_SINKS                     | influx,Bad! | fanout.sinks has the name 'Bad!'",
        "FANOUT_MQTT_QOS                  | 3           | fanout.mqtt.qos must be between 0 and 2, not 3",
        "FANOUT_MQTT_URL                  | mqtt.example.com:8883 | fanout.mqtt.url is 'mqtt.example.com:8883': write tcp://host:1883 or ssl://host:8883",
        "FANOUT_MQTT_URL                  | ''          | fanout.mqtt.url is empty in the environment (FANOUT_MQTT_URL): unset it for the demo",
        "FANOUT_SINK_INFLUX_RETRY_MULTIPLIER | x        | fanout.sink.influx.retry.multiplier must be a number, not 'x'",
        "FANOUT_SINK_INFLUX_TOPICS        | foxtrackr/#/x | fanout.sink.influx.topics has 'foxtrackr/#/x', which is not an MQTT topic filter",
        "FANOUT_HTTP_HOST                 | 0.0.0.0     | fanout.http.token is required when fanout.http.host (0.0.0.0) is beyond loopback",
        "FANOUT_SINK_INFLUX_VERSION       | 2           | fanout.sink.influx.token is required for InfluxDB 2.x: an API token with write access",
        "FANOUT_SINK_INFLUX_VERSION       | 4           | fanout.sink.influx.version is '4': write 1, 2 or 3",
        "FANOUT_SINK_INFLUX_TOKEN         | a-token-1   | fanout.sink.influx.token is for InfluxDB 2.x and 3.x: set fanout.sink.influx.version to 2 or 3",
    })
    void should_refuse_to_start_and_name_the_property(String variable, String value, String message) throws Exception {
        assertRefusedToStart(new Bundle(broker, influx).with(variable, value), message);
    }

    // A misspelt key, in the environment or in application.properties, would be ignored: it stops the start
    // instead, naming the key and the nearest known one. A sink's options count as known for a sink that
    // fanout.sinks does not list (kept for later), but only its type's options for a listed one.
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "FANOUT_MQTT_KEEPALIVE_S          | 30          | FANOUT_MQTT_KEEPALIVE_S (environment) is not a property of the product; the nearest known one is FANOUT_MQTT_KEEP_ALIVE_S",
        "FANOUT_SINKZ_INFLUX_URL          | http://x    | FANOUT_SINKZ_INFLUX_URL (environment) is not a property of the product; the nearest known one is FANOUT_SINK_INFLUX_URL",
        "FANOUT_SINK_INFLUX_BEARER_TOKEN  | t0ken-value | FANOUT_SINK_INFLUX_BEARER_TOKEN (environment) is not an option of sink-influxdb (its options: batch-size,",
        "FANOUT_SOURCE_FLEET_TOPICS       | x/#         | FANOUT_SOURCE_FLEET_TOPICS (environment) is not an option of source-mqtt (its options: client-id, topic)",
    })
    void should_refuse_an_unknown_variable_and_name_the_nearest(String variable, String value, String message) throws Exception {
        assertRefusedToStart(new Bundle(broker, influx).with(variable, value), message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "fanout.mqtt.ulr=tcp://127.0.0.1:1    | fanout.mqtt.ulr is not a property of the product; the nearest known one is fanout.mqtt.url",
        "fanout.sinkz.influx.url=http://x     | fanout.sinkz.influx.url is not a property of the product; the nearest known one is fanout.sink.influx.url",
        "fanout.mqtt.keepalive-s=30           | fanout.mqtt.keepalive-s is not a property of the product; the nearest known one is fanout.mqtt.keep-alive-s",
    })
    void should_refuse_an_unknown_property_in_the_file_and_never_start_the_demo(String line, String message) throws Exception {
        java.nio.file.Path home = RouteEditIT.copyOfProject();
        java.nio.file.Files.writeString(home.resolve("application.properties"), "\n" + line + "\n", java.nio.file.StandardOpenOption.APPEND);
        Bundle bundle = Bundle.unconfigured(home);
        assertRefusedToStart(bundle, message);
        assertFalse(bundle.output().contains("demo:"), bundle.output());
    }

    // With no fanout.mqtt.url, settings meant for a real broker stop the start rather than run the demo.
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "FANOUT_MQTT_USERNAME             | acme        | fanout.mqtt.url is not set, which starts the demo (an embedded broker and a simulated fleet), but fanout.mqtt.username is set",
        "FANOUT_SOURCE_FLEET_CLIENT_ID    | id-acme-01  | but fanout.source.fleet.client-id=id-acme-01 is set",
    })
    void should_not_start_the_demo_when_a_broker_was_meant(String variable, String value, String message) throws Exception {
        Bundle bundle = Bundle.unconfigured(RouteEditIT.copyOfProject()).with(variable, value);
        bundle.launch();
        assertEquals(2, bundle.awaitExit(), bundle.output());
        assertTrue(bundle.output().contains(message), bundle.output());
        assertFalse(bundle.output().contains("demo:"), bundle.output());
    }

    // Another process on the HTTP port would answer for the bundle: the start stops instead of running without its API.
    @org.junit.jupiter.api.Test
    void should_refuse_to_start_when_the_http_port_is_taken() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            assertRefusedToStart(new Bundle(broker, influx).with("FANOUT_HTTP_PORT", String.valueOf(taken.getLocalPort())),
                    "fanout.http.port is " + taken.getLocalPort() + ", which cannot be used on 127.0.0.1");
        }
    }

    /** The bundle exits with 2 and a line that names the property, without a stack trace. */
    static void assertRefusedToStart(Bundle bundle, String message) throws Exception {
        bundle.launch();
        int exit = bundle.awaitExit();
        String output = bundle.output();
        assertEquals(2, exit, output);
        assertTrue(output.contains("ERROR Configuration error: " + message), output);
        assertFalse(output.contains("\tat "), "no stack trace for a configuration mistake:\n" + output);
    }
}
