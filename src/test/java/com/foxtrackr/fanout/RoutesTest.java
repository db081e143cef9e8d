package com.foxtrackr.fanout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.junit5.CamelContextConfiguration;
import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.influxdb.dto.BatchPoints;
import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.Outbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The YAML routes of routes/ in process, as Camel Main loads them from application.properties, with the outbox in a
 * temporary folder: the MQTT source's route starts from direct:fleet, and the sinks' endpoints (InfluxDB, the
 * partner's HTTP; the S3 step is replaced by a mock before the start) are mocks. The end-to-end tests run the same
 * routes in the jar against real servers.
 */
class RoutesTest extends CamelMainTestSupport {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    static final String INFLUX = "mock:influxdb:influxdb-influx";
    static final String PARTNER = "mock:http:partner.test/in";
    static final String ALERTS = "mock:http:alerts.test/in";
    static final String BATCHES = "mock:http:batches.test/in";
    static final String S3 = "mock:s3";
    // set by configureContext, which runs in the constructor of CamelTestSupport, before any initializer of this class
    Path dataDir;
    /** A folder for routes a test adds, beside routes/. */
    Path userRoutes;

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.addMainListener(FanoutSetup.class);
    }

    @Override
    protected String getPropertyPlaceholderLocations() {
        return "file:application.properties";
    }

    @Override
    public void configureContext(CamelContextConfiguration context) {
        super.configureContext(context);
        try {
            dataDir = Files.createTempDirectory("routes-test");
            userRoutes = Files.createDirectories(dataDir.resolve("routes"));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        Properties properties = new Properties();
        properties.put("fanout.data-dir", dataDir.toString());
        properties.put("fanout.mqtt.url", "tcp://127.0.0.1:1");
        properties.put("fanout.http.port", "0");
        properties.put("camel.server.enabled", "false");
        properties.put("camel.management.enabled", "false");
        properties.put("fanout.sinks", "influx,acme,alerts,batches,archive,local,copies");
        properties.put("camel.main.shutdown-timeout", "2");
        properties.put("camel.main.routes-include-pattern", "file:routes/*.yaml,file:" + userRoutes + "/*.yaml");
        properties.put("fanout.sink.influx.linger-ms", "20");
        properties.put("fanout.sink.acme.type", "http");
        properties.put("fanout.sink.acme.url", "http://partner.test/in");
        properties.put("fanout.sink.acme.kinds", "battery");
        properties.put("fanout.sink.acme.headers", "X-Fleet: north");
        properties.put("fanout.sink.acme.linger-ms", "20");
        properties.put("fanout.sink.acme.retry.initial-delay-ms", "60000");
        // the README's worked example: alerts gets its own payload from a route of the user's
        properties.put("fanout.sink.alerts.type", "http");
        properties.put("fanout.sink.alerts.url", "http://alerts.test/in");
        properties.put("fanout.sink.alerts.kinds", "battery");
        properties.put("fanout.sink.alerts.steps", "direct:acme-payload");
        properties.put("fanout.sink.alerts.linger-ms", "20");
        properties.put("fanout.sink.batches.type", "http-batch");
        properties.put("fanout.sink.batches.url", "http://batches.test/in");
        properties.put("fanout.sink.batches.kinds", "battery");
        properties.put("fanout.sink.batches.format", "ndjson");
        properties.put("fanout.sink.batches.max-bytes", "300");
        properties.put("fanout.sink.batches.max-age-ms", "50");
        properties.put("fanout.sink.batches.linger-ms", "20");
        properties.put("fanout.sink.archive.type", "s3");
        properties.put("fanout.sink.archive.bucket", "fleet");
        properties.put("fanout.sink.archive.max-age-ms", "50");
        properties.put("fanout.sink.archive.linger-ms", "20");
        properties.put("fanout.sink.local.type", "directory");
        properties.put("fanout.sink.local.directory", dataDir.resolve("archive").toString());
        properties.put("fanout.sink.local.max-age-ms", "50");
        properties.put("fanout.sink.local.linger-ms", "20");
        properties.put("fanout.sink.copies.type", "endpoint");
        properties.put("fanout.sink.copies.uri", "mock:copies");
        properties.put("fanout.sink.copies.kinds", "temperature");
        properties.put("fanout.sink.copies.linger-ms", "20");
        try {
            String readme = Files.readString(Path.of("README.md"));
            java.util.regex.Matcher example = java.util.regex.Pattern.compile(
                    "<!-- worked example: routes/acme-payload.yaml -->\\s*```yaml\\n(.*?)```", java.util.regex.Pattern.DOTALL).matcher(readme);
            if (!example.find()) {
                throw new IllegalStateException("the README has no worked example");
            }
            Files.writeString(userRoutes.resolve("acme-payload.yaml"), example.group(1));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        editRoutes(userRoutes, properties);
        context.withUseOverridePropertiesWithPropertiesComponent(properties);
        context.replaceRouteFromWith("source-fleet", "direct:fleet");
        context.withMockEndpointsAndSkip("influxdb:.*|http:.*|aws2-s3:.*");
    }

    /** The aws2-s3 endpoint checks its bucket when it starts, even when mocked: the S3 step is replaced before the start. */
    @Override
    public void configureTest(org.apache.camel.test.junit5.TestExecutionConfiguration test) {
        super.configureTest(test);
        test.withUseAdviceWith(true);
    }

    @org.junit.jupiter.api.BeforeEach
    void replaceTheS3StepAndStart() throws Exception {
        org.apache.camel.builder.AdviceWith.adviceWith(context, "sink-archive",
                route -> route.weaveByToUri("aws2-s3:*").replace().to(S3));
        context.start();
    }

    /** A subclass's edits of the routes, before the context is made (in the constructor: no field of the subclass is set). */
    void editRoutes(Path userRoutes, Properties properties) {
    }

    void publish(String topic, String payload) {
        template.sendBodyAndHeader("direct:fleet", payload.getBytes(StandardCharsets.UTF_8), MessageValidator.TOPIC, topic);
    }

    long count(String sql) throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("outbox.db"));
             Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String battery(String device, long timeMs, int level) {
        return "{\"messageType\":1,\"deviceId\":\"" + device + "\",\"version\":3,\"timeMs\":" + timeMs + ",\"battery\":{\"level\":" + level + "}}";
    }

    // Ingest's choice on messageType: a battery goes to InfluxDB and the partner, a temperature to InfluxDB alone,
    // another type to neither (it is recognised if repeated, but not stored: no sink takes it).
    @Test
    void should_route_each_kind_to_the_sinks_that_take_it() throws Exception {
        MockEndpoint influx = getMockEndpoint(INFLUX);
        MockEndpoint partner = getMockEndpoint(PARTNER);
        partner.expectedMessageCount(1);
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        publish("foxtrackr/grp-a/V3.0/temp", "{\"messageType\":2,\"deviceId\":\"dev-1\",\"version\":3,\"timeMs\":1764000000001,\"temperature\":{\"value\":21.5}}");
        publish("foxtrackr/grp-a/V3.0/pos", "{\"messageType\":9,\"deviceId\":\"dev-1\",\"version\":3,\"timeMs\":1764000000002}");
        partner.assertIsSatisfied();
        await().atMost(Duration.ofSeconds(10)).until(() -> influx.getExchanges().stream()
                .mapToInt(e -> e.getMessage().getBody(BatchPoints.class).getPoints().size()).sum() == 2);
        Map<String, Object> headers = partner.getExchanges().get(0).getMessage().getHeaders();
        assertEquals(Outbox.key(battery("dev-1", 1_764_000_000_000L, 40).getBytes(StandardCharsets.UTF_8)), headers.get("Idempotency-Key"));
        assertEquals("north", headers.get("X-Fleet"));
        assertEquals("application/json", headers.get("Content-Type"));
        assertNull(headers.get("FanoutTopic"), "the topic is not sent to the partner");
        assertEquals(3, count("SELECT count(*) FROM seen"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM outstanding") == 0);
    }

    // What is not a FoxTrackr message is kept with its reason, and nothing is delivered.
    @Test
    void should_keep_rejected_input_with_its_reason() throws Exception {
        publish(BAT, "not json");
        publish(BAT, "{\"messageType\":1,\"version\":3,\"timeMs\":1}");
        assertEquals(2, count("SELECT count(*) FROM rejected"));
        assertEquals(1, count("SELECT count(*) FROM rejected WHERE reason = 'missing field ''deviceId'''"));
        assertEquals(0, count("SELECT count(*) FROM message"));
    }

    // The partner answers 400: the message goes to the partner's dead letters at once, with the answer.
    @Test
    void should_dead_letter_what_the_partner_refuses() throws Exception {
        getMockEndpoint(PARTNER).whenAnyExchangeReceived(exchange -> {
            throw new HttpOperationFailedException("http://partner.test/in", 400, "Bad Request", null, Map.of(), "unknown device");
        });
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead'") == 1);
        assertEquals(1, count("SELECT count(*) FROM delivery WHERE last_error = 'HTTP 400: unknown device'"));
    }

    // The partner answers 503 with Retry-After: the message waits, retried at most once meanwhile.
    @Test
    void should_retry_what_fails_for_a_reason_of_the_partner() throws Exception {
        getMockEndpoint(PARTNER).whenAnyExchangeReceived(exchange -> {
            throw new HttpOperationFailedException("http://partner.test/in", 503, "Unavailable", null, Map.of("Retry-After", "120"), "");
        });
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM delivery WHERE sink = 'acme' AND attempts = 1") == 1);
        long due = count("SELECT next_attempt_ms FROM delivery WHERE sink = 'acme'");
        assertTrue(due - System.currentTimeMillis() > 100_000, "Retry-After: 120 is honoured");
        assertEquals("HTTP 503", queryText("SELECT last_error FROM delivery WHERE sink = 'acme'"));
    }

    // InfluxDB refuses a point of a batch ("partial write"): the batch's messages are written one by one, and only
    // the refused one goes to InfluxDB's dead letters.
    @Test
    void should_dead_letter_only_the_message_influxdb_refuses() throws Exception {
        getMockEndpoint(INFLUX).whenAnyExchangeReceived(exchange -> {
            BatchPoints points = exchange.getMessage().getBody(BatchPoints.class);
            if (points.getPoints().stream().anyMatch(p -> p.lineProtocol().contains("level=13"))) {
                throw new org.apache.camel.component.influxdb.CamelInfluxDbException(
                        new org.influxdb.InfluxDBException("partial write: field type conflict dropped=1"));
            }
        });
        for (int level = 10; level < 15; level++) {
            publish(BAT, battery("dev-" + level, 1_764_000_000_000L + level, level));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM delivery WHERE sink = 'influx' AND state = 'dead'") == 1
                && count("SELECT count(*) FROM outstanding WHERE sink = 'influx' AND state = 'pending'") == 0);
        assertEquals("partial write: field type conflict dropped=1", queryText("SELECT last_error FROM delivery WHERE sink = 'influx'"));
    }

    // A batching partner refuses a call for one bad message (400): the call is split in halves until that message is
    // alone, and only it goes to the dead letters, with the partner's answer; every other message is taken once, in
    // calls of at most max-bytes, one payload per line, under a key that names the call's messages.
    @Test
    void should_dead_letter_only_the_message_a_batching_partner_refuses() throws Exception {
        MockEndpoint batches = getMockEndpoint(BATCHES);
        batches.whenAnyExchangeReceived(exchange -> {
            if (exchange.getMessage().getBody(String.class).contains("\"level\":13")) {
                throw new HttpOperationFailedException("http://batches.test/in", 400, "Bad Request", null, Map.of(), "bad level");
            }
        });
        java.util.List<String> sent = new java.util.ArrayList<>();
        for (int level = 10; level < 16; level++) {
            sent.add(battery("dev-" + level, 1_764_000_000_000L + level, level));
            publish(BAT, sent.get(sent.size() - 1));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM delivery WHERE sink = 'batches' AND state = 'dead'") == 1
                && count("SELECT count(*) FROM outstanding WHERE sink = 'batches' AND state = 'pending'") == 0);
        assertEquals("HTTP 400: bad level", queryText("SELECT last_error FROM delivery WHERE sink = 'batches'"));
        java.util.List<String> taken = new java.util.ArrayList<>();
        for (org.apache.camel.Exchange call : batches.getExchanges()) {
            String body = call.getMessage().getBody(String.class);
            assertTrue(body.length() <= 300 && body.endsWith("\n"), body);
            assertEquals("application/x-ndjson", call.getMessage().getHeader("Content-Type"));
            assertTrue(call.getMessage().getHeader("Idempotency-Key", String.class).matches("[0-9a-f]{32}"));
            if (!body.contains("\"level\":13")) {
                taken.addAll(java.util.List.of(body.split("\n")));
            }
        }
        sent.remove(3);
        assertEquals(new java.util.TreeSet<>(sent), new java.util.TreeSet<>(taken));
        assertEquals(sent.size(), taken.size(), "each taken once");
    }

    // A batching partner answers 429 with Retry-After: 120: the sink waits that long, not its back-off of a second.
    @Test
    void should_honour_a_batching_partners_retry_after() throws Exception {
        MockEndpoint batches = getMockEndpoint(BATCHES);
        batches.whenAnyExchangeReceived(exchange -> {
            throw new HttpOperationFailedException("http://batches.test/in", 429, "Too Many Requests", null, Map.of("Retry-After", "120"), "");
        });
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        await().atMost(Duration.ofSeconds(10)).until(() -> batches.getReceivedCounter() == 1);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> batches.getReceivedCounter() == 1);
        assertEquals("HTTP 429", queryText("SELECT last_error FROM delivery WHERE sink = 'batches'"));
    }

    // The README's worked example: the partner gets the batteries below 20% as {"device","level","at"} with X-Device;
    // the others count as delivered to it.
    @Test
    void should_give_a_partner_its_own_payload_from_a_route_of_the_users() throws Exception {
        MockEndpoint alerts = getMockEndpoint(ALERTS);
        alerts.expectedMessageCount(1);
        alerts.expectedHeaderReceived("X-Device", "dev-low");
        alerts.expectedBodiesReceived("{\"device\":\"dev-low\",\"level\":7,\"at\":1764000000000}");
        publish(BAT, battery("dev-low", 1_764_000_000_000L, 7));
        publish(BAT, battery("dev-high", 1_764_000_000_001L, 70));
        alerts.assertIsSatisfied();
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM outstanding WHERE sink = 'alerts'") == 0);
        assertEquals(0, count("SELECT count(*) FROM delivery WHERE sink = 'alerts'"));
    }

    // The directory archive (the file endpoint, for real): one gzip object per hour of the messages' time, under the
    // sink's layout, each line a record with the payload in base64.
    @Test
    void should_archive_a_batch_as_an_object_per_hour() throws Exception {
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        publish(BAT, battery("dev-1", 1_764_000_000_000L + 3_600_000, 41));
        Path hour16 = dataDir.resolve("archive/foxtrackr/2025/11/24/16/local-1.ndjson.gz");
        Path hour17 = dataDir.resolve("archive/foxtrackr/2025/11/24/17/local-1.ndjson.gz");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(hour16) && Files.exists(hour17));
        String line = new String(new java.util.zip.GZIPInputStream(Files.newInputStream(hour17)).readAllBytes(), StandardCharsets.UTF_8);
        String payload = java.util.Base64.getEncoder().encodeToString(battery("dev-1", 1_764_000_000_000L + 3_600_000, 41).getBytes(StandardCharsets.UTF_8));
        assertTrue(line.startsWith("{\"key\":\"") && line.endsWith(",\"payload\":\"" + payload + "\"}\n"), line);
    }

    // The S3 archive: one gzip object per hour, under the sink's layout, with its content type.
    @Test
    void should_write_an_s3_object_per_hour() throws Exception {
        MockEndpoint s3 = getMockEndpoint(S3);
        s3.expectedMessageCount(2);
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        publish(BAT, battery("dev-1", 1_764_000_000_000L + 3_600_000, 41));
        s3.assertIsSatisfied();
        java.util.Set<String> keys = new java.util.TreeSet<>();
        s3.getExchanges().forEach(e -> keys.add(e.getMessage().getHeader("CamelAwsS3Key", String.class)));
        assertEquals(java.util.Set.of("foxtrackr/2025/11/24/16/archive-1.ndjson.gz", "foxtrackr/2025/11/24/17/archive-1.ndjson.gz"), keys);
        assertEquals("application/gzip", s3.getExchanges().get(0).getMessage().getHeader("CamelAwsS3ContentType"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM outstanding WHERE sink = 'archive'") == 0);
    }

    // An endpoint sink: the raw payload to any Camel endpoint, with its key, topic and kind in headers.
    @Test
    void should_send_the_raw_payload_to_an_endpoint_sink() throws Exception {
        MockEndpoint copies = getMockEndpoint("mock:copies");
        copies.expectedMessageCount(1);
        String temperature = "{\"messageType\":2,\"deviceId\":\"dev-1\",\"version\":3,\"timeMs\":1764000000001,\"temperature\":{\"value\":21.5}}";
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        publish("foxtrackr/grp-a/V3.0/temp", temperature);
        copies.assertIsSatisfied();
        org.apache.camel.Message copy = copies.getExchanges().get(0).getMessage();
        assertEquals(temperature, new String(copy.getBody(byte[].class), StandardCharsets.UTF_8));
        assertEquals("foxtrackr/grp-a/V3.0/temp", copy.getHeader("FanoutTopic"));
        assertEquals("temperature", copy.getHeader("FanoutKind"));
    }

    String queryText(String sql) throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("outbox.db"));
             Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
