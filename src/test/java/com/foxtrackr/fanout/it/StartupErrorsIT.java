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
    })
    void should_refuse_to_start_and_name_the_property(String variable, String value, String message) throws Exception {
        assertRefusedToStart(new Bundle(broker, influx).with(variable, value), message);
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
