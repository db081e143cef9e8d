package com.foxtrackr.fanout.it;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    // A mistake that the sink's outbox: endpoint finds (a retry delay out of range, a kind misspelt) stops check as
    // it stops a start: exit code 2 and the property, before any connection is tried.
    @Test
    void should_stop_a_check_at_a_sink_option_out_of_range_as_a_start_stops() throws Exception {
        for (String[] mistake : new String[][] {
                {"FANOUT_SINK_INFLUX_RETRY_INITIAL_DELAY_MS", "0", "fanout.sink.influx.retry.initial-delay-ms is 0: give a whole number from 1 to 3600000"},
                {"FANOUT_SINK_INFLUX_BATCH_SIZE", "0", "fanout.sink.influx.batch-size is 0: give a whole number from 1 to 1000000"}}) {
            Bundle.CliResult check = new Bundle(broker, influx).with(mistake[0], mistake[1]).command("check");
            assertEquals(2, check.exit(), check.text() + check.err());
            assertTrue(check.err().contains("ERROR Configuration error: " + mistake[2]), check.err());
            assertFalse(check.text().contains("WHAT"), check.text());
        }
    }

    // A partner is probed as a call is authorised (its headers and token, HTTP/1.1), and the line says what that
    // proved: a partner that requires the token is ok with the right one and FAIL with a wrong one.
    @Test
    void should_probe_a_partner_with_its_token_and_say_what_that_proved() throws Exception {
        WireMockServer partner = new WireMockServer(
                options().port(Services.freePort()).bindAddress("127.0.0.1"));
        partner.start();
        try {
            partner.stubFor(any(urlEqualTo("/ingest"))
                    .atPriority(9).willReturn(aResponse().withStatus(401)));
            partner.stubFor(any(urlEqualTo("/ingest"))
                    .atPriority(1).withHeader("Authorization", equalTo("Bearer good-token-1"))
                    .withHeader("X-Fleet", equalTo("north"))
                    .willReturn(aResponse().withStatus(200)));
            Bundle bundle = new Bundle(broker, influx)
                    .with("FANOUT_SINKS", "influx,acme")
                    .withHttpSink("acme", "http://127.0.0.1:" + partner.port() + "/ingest")
                    .with("FANOUT_SINK_ACME_HEADERS", "X-Fleet: north")
                    .with("FANOUT_SINK_ACME_BEARER_TOKEN", "good-token-1");
            String out = bundle.command("check").text();
            assertTrue(out.matches("(?s).*\\nsink acme +ok +HEAD http://127\\.0\\.0\\.1:\\d+/ingest with the sink's headers and token answered 200:"
                    + " reachable and the credentials accepted; no message was posted, so whether it takes the payload is not proven\\n.*"), out);
            var probe = partner.getAllServeEvents().get(0).getRequest();
            assertEquals("HEAD", probe.getMethod().getName());
            assertTrue(!probe.containsHeader("Upgrade"), "HTTP/1.1, no upgrade: " + probe.getHeaders());

            out = bundle.with("FANOUT_SINK_ACME_BEARER_TOKEN", "wrong-token-2").command("check").text();
            assertTrue(out.matches("(?s).*\\nsink acme +FAIL +fanout\\.sink\\.acme\\.\\* +HEAD .* answered 401: the partner refuses the sink's credentials\\n.*"), out);
        } finally {
            partner.stop();
        }
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

    // At the default level the log holds the product's lines, and only warnings and errors of the libraries:
    // no Camel start-up chatter, no "shutdown hook triggered by SIGTERM" when no signal was sent; check writes no log.
    @Test
    void should_log_the_products_lines_and_only_the_libraries_warnings() throws Exception {
        java.util.Set<String> product = new java.util.HashSet<>(java.util.List.of("MqttSource"));
        try (var sources = java.nio.file.Files.list(Bundle.HOME.resolve("src/main/java/com/foxtrackr/fanout"))) {
            sources.forEach(f -> product.add(f.getFileName().toString().replace(".java", "")));
        }
        Bundle bundle = new Bundle(broker, influx);
        try (Bundle running = bundle.start()) {
            running.stop();
            assertTrue(running.output().lines().count() < 20, "a short log:\n" + running.output());
            assertOnlyProductLinesAndWarnings(running.output(), product);
            assertTrue(!running.output().contains("shutdown hook"), running.output());
        }
        assertOnlyProductLinesAndWarnings(bundle.command("check").err(), product);
    }

    static void assertOnlyProductLinesAndWarnings(String log, java.util.Set<String> product) {
        for (String line : log.lines().toList()) {
            java.util.regex.Matcher event = java.util.regex.Pattern.compile("\\S+ (\\S+) +(\\S+) - .*").matcher(line);
            assertTrue(event.matches(), line);
            assertTrue(product.contains(event.group(2)) || java.util.Set.of("WARN", "ERROR").contains(event.group(1)),
                    "a library's line at " + event.group(1) + ": " + line);
        }
    }

    // A mistyped command is refused with the usage, not run as the bundle with Camel's options.
    @Test
    void should_refuse_an_unknown_command_with_the_usage() throws Exception {
        Bundle.CliResult bogus = new Bundle(broker, influx).command("bogus");
        assertEquals(2, bogus.exit(), bogus.err());
        assertTrue(bogus.err().startsWith("ERROR unknown command 'bogus'\nusage: java -jar foxtrackr-fanout.jar"), bogus.err());
        assertEquals("", bogus.text());
    }

    // Started in a folder without its configuration, it says in one line where it looked and how to point it elsewhere.
    @Test
    void should_say_where_it_looked_when_started_outside_its_folder() throws Exception {
        java.nio.file.Path elsewhere = java.nio.file.Files.createTempDirectory("elsewhere");
        Bundle.CliResult run = Bundle.unconfigured(elsewhere).command();
        assertEquals(2, run.exit(), run.err());
        assertEquals("ERROR no application.properties in " + elsewhere.toRealPath() + ", the configuration folder: start the bundle in the"
                + " folder that holds application.properties and routes/, or name it with --config-dir DIR or FANOUT_CONFIG_DIR=DIR\n", run.err());
    }

    // --config-dir runs the bundle from another folder: its properties, its routes, and its data folder.
    @Test
    void should_run_with_the_configuration_of_another_folder() throws Exception {
        java.nio.file.Path home = RouteEditIT.copyOfProject();
        java.nio.file.Path elsewhere = java.nio.file.Files.createTempDirectory("elsewhere");
        try (Bundle bundle = Bundle.unconfigured(elsewhere).withArguments("--config-dir", home.toString()).start()) {
            bundle.awaitLog("demo:");
            assertTrue(java.nio.file.Files.exists(home.resolve("data/outbox.db")), "the data folder is in the configuration folder");
        }
    }
}
