package com.foxtrackr.fanout.it;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jar's own commands (check, --version, --help) and its log format. */
class CommandLineIT extends WithBrokerAndInflux {
    // Everything reachable: one "ok" line per connection and exit code 0.
    @Test
    void should_check_every_connection_and_say_that_everything_works() throws Exception {
        Bundle.CliResult check = new Bundle(broker, influx).command("check");
        String out = check.text();
        assertEquals(0, check.exit(), out + check.err());
        assertTrue(out.matches("(?s).*\\nsource fleet +ok +connected to tcp://127\\.0\\.0\\.1:\\d+, subscribed to foxtrackr/# at QoS 2\\n.*"), out);
        assertTrue(out.matches("(?s).*\\nsink influx +ok +InfluxDB \\S+, database foxtrackr\\n.*"), out);
        assertTrue(out.endsWith("everything works\n"), out);
    }

    // What does not work is named with the properties to fix; what works still says ok; exit code 1.
    @Test
    void should_name_what_does_not_work_and_the_property_to_fix() throws Exception {
        influx.stop();
        Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,acme,archive")
                .withHttpSink("acme", "http://127.0.0.1:" + Services.freePort() + "/ingest")
                .with("FANOUT_SINK_ARCHIVE_TYPE", "directory")
                .with("FANOUT_SINK_ARCHIVE_DIRECTORY", Services.tempDir("archive").toString());
        Bundle.CliResult check = bundle.command("check");
        String out = check.text();
        assertEquals(1, check.exit(), out + check.err());
        assertTrue(out.matches("(?s).*\\nsource fleet +ok .*"), out);
        assertTrue(out.matches("(?s).*\\nsink influx +FAIL +fanout\\.sink\\.influx\\.\\* +.*Failed to connect.*"), out);
        assertTrue(out.matches("(?s).*\\nsink acme +FAIL +fanout\\.sink\\.acme\\.\\* +.*"), out);
        assertTrue(out.matches("(?s).*\\nsink archive +ok +can write in .*"), out);
        assertTrue(out.endsWith("something does not work: see TO FIX\n"), out);

        broker.stop();
        out = bundle.command("check").text();
        assertTrue(out.matches("(?s).*\\nsource fleet +FAIL +fanout\\.mqtt\\.\\*.*"), out);
    }

    // FANOUT_LOG_FORMAT=json: every line the bundle writes is one JSON object, its connection lines among them.
    @Test
    void should_write_one_json_object_per_line_when_asked() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).with("FANOUT_LOG_FORMAT", "json").start()) {
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            boolean connected = false;
            for (String line : bundle.output().split("\n")) {
                var event = json.readTree(line);
                assertTrue(event.has("time") && event.has("level") && event.has("logger") && event.has("message"), line);
                connected |= event.path("logger").asText().equals("MqttSource")
                        && event.path("message").asText().startsWith("client-id=id-test-01 state=connected");
            }
            assertTrue(connected, bundle.output());
        }
    }

    // The version Maven built, and a usage text that lists the commands.
    @Test
    void should_print_its_version_and_usage() throws Exception {
        Bundle bundle = new Bundle(broker, influx);
        assertTrue(bundle.command("--version").text().matches("foxtrackr-fanout \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\n"));
        String help = bundle.command("--help").text();
        for (String command : new String[] {"check", "dlq", "--version", "--help"}) {
            assertTrue(help.contains("  " + command), help);
        }
    }
}
