package com.foxtrackr.fanout.it;

import com.foxtrackr.fanout.sinks.SeriesFields;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.foxtrackr.fanout.sinks.SeriesFields;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hostile input corpus (HostileCorpus) through the built jar into InfluxDB, both archives and a partner. */
class HostileInputIT {
    static final String GOOD_BAT = "foxtrackr/grp-good/V3.0/bat";
    static final String GOOD_TEMP = "foxtrackr/grp-good/V3.0/temp";
    static final String KEY = "foxtrackr/raw/\\d{4}/\\d{2}/\\d{2}/\\d{2}/%s-\\d+\\.ndjson\\.gz";
    static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    Mosquitto broker;
    Influx influx;
    S3Proxy s3;
    WireMockServer partner;
    Path archiveParent;
    Path directory;

    @BeforeEach
    void startServices() throws Exception {
        broker = new Mosquitto().start();
        influx = new Influx().start().createDatabase("foxtrackr");
        s3 = new S3Proxy().start().createBucket("fleet-archive");
        partner = new WireMockServer(options().port(Services.freePort()).bindAddress("127.0.0.1"));
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(204)));
        archiveParent = Files.createTempDirectory("hostile-archive");
        directory = Files.createDirectory(archiveParent.resolve("archive"));
    }

    @AfterEach
    void stopServices() {
        partner.stop();
        s3.close();
        broker.close();
        influx.close();
    }

    Bundle bundle() {
        return new Bundle(broker, influx)
                .with("FANOUT_LOG_LEVEL", "DEBUG")
                .withArchives(s3, directory)
                .with("FANOUT_SINKS", "influx,s3,local,acme")
                .withHttpSink("acme", "http://127.0.0.1:" + partner.port() + "/ingest")
                .with("FANOUT_SINK_ACME_HEADERS", "X-Fleet: north")
                .with("FANOUT_SINK_ACME_LINGER_MS", "50");
    }

    record Published(String topic, byte[] payload) {
    }

    // Each hostile case between two good messages. Every good message reaches InfluxDB, both archives and the
    // partner exactly once; every rejected case is in the rejected store with its bytes, topic and reason; every
    // accepted case is stored exactly, and refused only by the sink that cannot hold it; nothing appears where it
    // was not sent: no extra measurement, series, tag or field, no archive key or file off the layout, no header
    // from a message, no log line from a device id.
    @Test
    void should_reject_or_store_exactly_every_hostile_input_without_holding_back_the_good_ones() throws Exception {
        List<HostileCorpus.Case> corpus = HostileCorpus.all();
        assertTrue(corpus.size() >= 30, "corpus of " + corpus.size());
        List<Published> good = new ArrayList<>();
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            // First goods, written before any hostile case: InfluxDB's field types are those of real messages.
            for (int i = 0; i < 10; i++) {
                publishGood(publisher, good);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 5
                    && influx.count("foxtrackr", "temperature", "value") == 5);
            for (HostileCorpus.Case hostile : corpus) {
                publishGood(publisher, good);
                publisher.publish(hostile.topic(), hostile.payload());
                publishGood(publisher, good);
            }
            for (int i = 0; i < 10; i++) {
                publishGood(publisher, good);
            }

            List<HostileCorpus.Case> rejected = only(corpus, HostileCorpus.Outcome.REJECTED);
            List<HostileCorpus.Case> accepted = corpus.stream().filter(c -> c.outcome() != HostileCorpus.Outcome.REJECTED).toList();
            int published = good.size() + corpus.size();
            await("every message stored or rejected, no delivery pending").atMost(Duration.ofSeconds(90))
                    .until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == published
                            && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE state = 'pending'") == 0);
            assertEquals("stored " + (good.size() + accepted.size()) + ", rejected " + rejected.size(), progress(bundle.outbox()));

            assertRejectedStore(bundle, rejected);
            assertDeadLetters(bundle, corpus);
            assertInflux(good, accepted);
            assertArchives(good, accepted);
            assertPartner(good, accepted);
            assertLog(bundle.output());
        }
    }

    private void publishGood(Publisher publisher, List<Published> good) throws Exception {
        int n = good.size();
        long time = Messages.T0 + n * 60_000L;
        Published message = n % 2 == 0
                ? new Published(GOOD_BAT, Messages.battery("good-" + n % 7, time, n % 100).getBytes(StandardCharsets.UTF_8))
                : new Published(GOOD_TEMP, Messages.temperature("good-" + n % 7, time, 20.5).getBytes(StandardCharsets.UTF_8));
        publisher.publish(message.topic(), message.payload());
        good.add(message);
    }

    private static String progress(Path outbox) {
        // seen holds the key of every payload, rejected ones included (a repeat of either is recognised)
        long rejected = OutboxDb.count(outbox, "SELECT count(*) FROM rejected");
        return "stored " + (OutboxDb.count(outbox, "SELECT count(*) FROM seen") - rejected) + ", rejected " + rejected;
    }

    static List<HostileCorpus.Case> only(List<HostileCorpus.Case> corpus, HostileCorpus.Outcome outcome) {
        return corpus.stream().filter(c -> c.outcome() == outcome).toList();
    }

    /** Each rejected case once, in order, with its original bytes, its topic and a reason that says what is wrong. */
    private static void assertRejectedStore(Bundle bundle, List<HostileCorpus.Case> rejected) throws SQLException {
        List<OutboxDb.Rejected> stored = OutboxDb.rejected(bundle.outbox());
        assertEquals(rejected.size(), stored.size());
        for (int i = 0; i < rejected.size(); i++) {
            HostileCorpus.Case expected = rejected.get(i);
            OutboxDb.Rejected entry = stored.get(i);
            assertArrayEquals(expected.payload(), entry.payload(), expected + ": original bytes");
            assertEquals(expected.topic(), entry.topic(), expected + ": topic");
            assertTrue(entry.reason().contains(expected.detail()), expected + ": reason '" + entry.reason() + "'");
            assertTrue(entry.reason().matches("[^\\p{Cc}\\p{Zl}\\p{Zp}]{1,505}"), expected + ": one printable line: " + entry.reason());
        }
    }

    /** Exactly the cases one sink cannot hold are in that sink's dead-letter queue, with the reason; nothing else. */
    private static void assertDeadLetters(Bundle bundle, List<HostileCorpus.Case> corpus) throws SQLException {
        Map<String, String> dead = new TreeMap<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + bundle.outbox());
             Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT d.sink, d.last_error, m.payload FROM delivery d JOIN message m ON m.id = d.message_id"
                     + " WHERE d.state = 'dead'")) {
            while (rs.next()) {
                dead.put(rs.getString(1) + " " + name(corpus, rs.getBytes(3)), rs.getString(2));
            }
        }
        Map<String, String> expected = new TreeMap<>();
        for (HostileCorpus.Case c : only(corpus, HostileCorpus.Outcome.INFLUX_REFUSES)) {
            expected.put("influx " + c.name(), c.detail());
        }
        assertEquals(expected.keySet(), dead.keySet(), "dead letters: " + dead);
        expected.forEach((entry, reason) -> assertTrue(dead.get(entry).contains(reason), entry + ": " + dead.get(entry)));
    }

    private static String name(List<HostileCorpus.Case> corpus, byte[] payload) {
        return corpus.stream().filter(c -> java.util.Arrays.equals(c.payload(), payload)).map(HostileCorpus.Case::name)
                .findFirst().orElse("a good message");
    }

    /**
     * InfluxDB holds exactly the points of the good and accepted battery and temperature messages: the same
     * measurements, series, tags, fields, values and times, and nothing else.
     */
    private void assertInflux(List<Published> good, List<HostileCorpus.Case> accepted) throws Exception {
        List<Published> expected = new ArrayList<>(good);
        accepted.stream().filter(c -> c.outcome() != HostileCorpus.Outcome.INFLUX_REFUSES)
                .forEach(c -> expected.add(new Published(c.topic(), c.payload())));
        Set<String> points = new TreeSet<>();
        Set<String> series = new TreeSet<>();
        Map<String, Set<String>> fields = new TreeMap<>();
        // InfluxDB indexes the series of a point it refuses for its fields (not one whose key it cannot parse)
        Set<String> refusedSeries = new TreeSet<>();
        for (HostileCorpus.Case refused : only(accepted, HostileCorpus.Outcome.INFLUX_REFUSES)) {
            JsonNode root = STRICT.readTree(refused.payload());
            refusedSeries.add("battery,deviceId=" + escape(root.get("deviceId").textValue()) + ",group=" + escape(refused.topic().split("/")[1]));
        }
        int count = 0;
        for (Published message : expected) {
            JsonNode root = STRICT.readTree(message.payload());
            String kind = switch (root.get("messageType").asInt()) {
                case 1 -> "battery";
                case 2 -> "temperature";
                default -> null;
            };
            if (kind == null) {
                continue;
            }
            count++;
            Map<String, Object> values = new TreeMap<>(SeriesFields.of(root.get(kind)));
            fields.computeIfAbsent(kind, k -> new TreeSet<>()).addAll(values.keySet());
            String[] levels = message.topic().split("/", -1);
            String group = levels.length > 1 && !levels[1].isEmpty() ? levels[1] : null;
            String deviceId = root.get("deviceId").textValue();
            series.add(kind + ",deviceId=" + escape(deviceId) + (group == null ? "" : ",group=" + escape(group)));
            points.add(point(kind, deviceId, group, root.get("timeMs").asLong(), values));
        }

        assertEquals(List.of("battery", "temperature"), column(influx.query("foxtrackr", "SHOW MEASUREMENTS"), 0));
        Set<String> storedSeries = new TreeSet<>(column(influx.query("foxtrackr", "SHOW SERIES"), 0));
        assertTrue(storedSeries.containsAll(series), "every series: " + storedSeries);
        storedSeries.removeAll(series);
        assertTrue(refusedSeries.containsAll(storedSeries), "no other series: " + storedSeries);
        for (String kind : List.of("battery", "temperature")) {
            assertEquals(fields.get(kind), new TreeSet<>(column(influx.query("foxtrackr", "SHOW FIELD KEYS FROM \"" + kind + "\""), 0)),
                    kind + " fields");
            assertEquals(Set.of("deviceId", "group"), new TreeSet<>(column(influx.query("foxtrackr", "SHOW TAG KEYS FROM \"" + kind + "\""), 0)));
        }
        Set<String> stored = new TreeSet<>();
        for (String kind : List.of("battery", "temperature")) {
            JsonNode result = influx.query("foxtrackr", "SELECT * FROM \"" + kind + "\"").at("/results/0/series/0");
            List<String> columns = new ArrayList<>();
            result.get("columns").forEach(c -> columns.add(c.asText()));
            for (JsonNode row : result.get("values")) {
                Map<String, Object> values = new TreeMap<>();
                String deviceId = null;
                String group = null;
                long time = 0;
                for (int i = 0; i < columns.size(); i++) {
                    JsonNode value = row.get(i);
                    switch (columns.get(i)) {
                        case "time" -> time = Instant.parse(value.asText()).toEpochMilli();
                        case "deviceId" -> deviceId = value.textValue();
                        case "group" -> group = value.isNull() ? null : value.textValue();
                        default -> {
                            if (!value.isNull()) {
                                values.put(columns.get(i), value.isBoolean() ? (Object) value.booleanValue()
                                        : value.isTextual() ? (Object) value.textValue() : (Object) value.doubleValue());
                            }
                        }
                    }
                }
                stored.add(point(kind, deviceId, group, time, values));
            }
        }
        assertEquals(count, stored.size(), "points");
        assertEquals(points, stored);
    }

    private static String point(String kind, String deviceId, String group, long time, Map<String, Object> values) {
        return kind + " deviceId=" + Messages.quote(deviceId) + " group=" + (group == null ? "-" : Messages.quote(group))
                + " time=" + time + " " + values.entrySet().stream().map(e -> Messages.quote(e.getKey()) + "=" + e.getValue())
                .collect(Collectors.joining(","));
    }

    /** A tag value as line protocol and SHOW SERIES write it. */
    private static String escape(String tagValue) {
        return tagValue.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ");
    }

    private static List<String> column(JsonNode answer, int column) {
        List<String> values = new ArrayList<>();
        answer.at("/results/0/series").forEach(series -> series.get("values").forEach(row -> values.add(row.get(column).asText())));
        return values;
    }

    /**
     * Both archives hold every good and accepted payload once, byte for byte, each line one JSON value equal to
     * it, under keys of the fixed layout; nothing is written beside the archive directory.
     */
    private void assertArchives(List<Published> good, List<HostileCorpus.Case> accepted) throws Exception {
        List<byte[]> expected = new ArrayList<>();
        good.forEach(p -> expected.add(p.payload()));
        accepted.forEach(c -> expected.add(c.payload()));

        for (String key : s3.keys("fleet-archive")) {
            assertTrue(key.matches(String.format(KEY, "s3")), key);
        }
        assertArchived(expected, s3.payloads("fleet-archive"), "S3");

        List<byte[]> local = new ArrayList<>();
        try (Stream<Path> files = Files.walk(archiveParent)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertTrue(archiveParent.relativize(file).toString().matches("archive/" + String.format(KEY, "local")), file.toString());
                local.addAll(S3Proxy.payloads(Files.readAllBytes(file)));
            }
        }
        assertArchived(expected, local, "directory");
    }

    private static void assertArchived(List<byte[]> expected, List<byte[]> lines, String where) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (byte[] line : lines) {
            JsonNode parsed = STRICT.readTree(line);
            assertTrue(parsed.isObject(), where + ": a line is one JSON object");
            assertEquals(parsed, STRICT.readTree(new String(line, StandardCharsets.UTF_8)), where + ": a line is UTF-8");
            counts.merge(new String(line, StandardCharsets.ISO_8859_1), 1, Integer::sum);
        }
        for (byte[] payload : expected) {
            assertEquals(1, counts.getOrDefault(new String(payload, StandardCharsets.ISO_8859_1), 0),
                    where + " holds it once: " + new String(payload, StandardCharsets.UTF_8));
        }
        assertEquals(expected.size(), lines.size(), where + " holds nothing else");
    }

    /** The partner gets every good and accepted payload once, raw, with the same sane headers as any message. */
    private void assertPartner(List<Published> good, List<HostileCorpus.Case> accepted) {
        List<byte[]> expected = new ArrayList<>();
        good.forEach(p -> expected.add(p.payload()));
        accepted.forEach(c -> expected.add(c.payload()));
        List<LoggedRequest> requests = partner.findAll(postRequestedFor(urlEqualTo("/ingest")));
        assertEquals(expected.size(), requests.size(), "one call per message");
        Map<String, Integer> bodies = new HashMap<>();
        requests.forEach(r -> bodies.merge(new String(r.getBody(), StandardCharsets.ISO_8859_1), 1, Integer::sum));
        for (byte[] payload : expected) {
            assertEquals(1, bodies.getOrDefault(new String(payload, StandardCharsets.ISO_8859_1), 0),
                    "the partner got it once: " + new String(payload, StandardCharsets.UTF_8));
        }
        Set<String> headerNames = new TreeSet<>(requests.get(0).getHeaders().keys());
        assertTrue(headerNames.containsAll(Set.of("Content-Type", "Idempotency-Key", "X-Fleet")), headerNames.toString());
        Set<String> keys = new TreeSet<>();
        for (LoggedRequest request : requests) {
            assertEquals(headerNames, new TreeSet<>(request.getHeaders().keys()), "the same headers for every message");
            assertEquals("north", request.getHeader("X-Fleet"));
            assertTrue(request.getHeader("Content-Type").startsWith("application/json"));
            assertTrue(request.getHeader("Idempotency-Key").matches("[0-9a-f]{32}"), request.getHeader("Idempotency-Key"));
            keys.add(request.getHeader("Idempotency-Key"));
            request.getHeaders().all().forEach(h -> assertFalse(h.toString().contains(HostileCorpus.MARK), h.toString()));
        }
        assertEquals(expected.size(), keys.size(), "one idempotency key per message");
    }

    /**
     * At DEBUG, where Camel and the libraries log the most of each message: no line of the log starts with text
     * that a hostile value put after a line break (the forged log lines, headers and points of the corpus).
     */
    private static void assertLog(String output) {
        assertTrue(output.contains(" DEBUG "), "the bundle logged at DEBUG");
        Pattern forged = Pattern.compile("(\\d{4}-\\d{2}-\\d{2}T\\S+ ERROR |X-|battery,deviceId=)?" + HostileCorpus.MARK + ".*");
        for (String line : output.split("\r\n|[\r\n\u0085\u2028\u2029]", -1)) {
            assertFalse(forged.matcher(line).matches(), "a line forged by a hostile value: " + line);
        }
    }
}
