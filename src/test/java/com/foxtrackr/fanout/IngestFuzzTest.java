package com.foxtrackr.fanout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.ingest.InvalidMessageException;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.ingest.MessageValidatorTest;
import com.foxtrackr.fanout.outbox.Batch;
import com.foxtrackr.fanout.outbox.Outbox;
import com.foxtrackr.fanout.sinks.Archive;
import com.foxtrackr.fanout.sinks.InfluxPoints;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the ingest checks, the InfluxDB point mapping and the archive mapping with 10,000 generated inputs a
 * run: only a rejection with a one-line reason may escape, and every point and archive record is well formed.
 * Each run takes a new seed; a failure names it, and -Dfuzz.seed=N gives the same inputs again.
 */
class IngestFuzzTest {
    static final long SEED = Long.getLong("fuzz.seed", new SplittableRandom().nextLong());
    /** What the generated inputs became, by outcome: each test checks that its inputs reach every outcome. */
    static final Map<String, Integer> OUTCOMES = new java.util.concurrent.ConcurrentHashMap<>();
    static final int LIMIT = 65536;
    static final MessageValidator VALIDATOR = new MessageValidator(LIMIT);
    static final ObjectMapper JSON = MessageValidator.objectMapper(LIMIT);
    static final InfluxPoints POINTS = new InfluxPoints(JSON);
    /** A reader that is not the product's: plain Jackson, refusing anything after the value. */
    static final ObjectMapper READER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static Archive archive(String sink) {
        Archive archive = new Archive();
        archive.setSink(sink);
        archive.setPrefix("foxtrackr/raw");
        return archive;
    }
    static final DefaultCamelContext CONTEXT = new DefaultCamelContext();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy/MM/dd/HH").withZone(ZoneOffset.UTC);
    /** Characters that separate something somewhere (line protocol, JSON, paths, headers), or look alike. */
    static final char[] SEPARATORS = ",= \"'/.:;#*?{}[]\u00a0\u2028\u2029\u202e\ufeff\u00e9".toCharArray();
    /** Characters that break a line or escape the next: the checks refuse them in names. */
    static final char[] BREAKING = "\\\n\r\t\u0000\u0007\u001b\u007f\u0085\ud800\udc00".toCharArray();

    // Any bytes, and valid messages with a byte changed, cut, inserted or removed, with something after them, in
    // UTF-16 or UTF-32, with a BOM, an overlong sequence or an encoded surrogate: accepted and well mapped, or
    // rejected with a one-line reason; never another exception (which would leave the message unacknowledged).
    @Test
    void any_bytes_are_accepted_and_mapped_or_rejected_with_a_reason() {
        forAll(3000, anyBytes(), payload -> checkOrRejected("foxtrackr/g/V3.0/bat", payload));
        assertReached("rejected", "battery");
    }

    // Generated FoxTrackr-like messages, hostile device ids, field names, numbers and topics included: an accepted
    // one is exactly one well-formed point (measurement, escaped tags, fields, time) and one archive line.
    @Test
    void generated_messages_become_exact_points_and_archive_lines_or_are_rejected() {
        forAll(5000, messages(), message -> checkOrRejected(message.topic(), message.payload()));
        assertReached("rejected", "battery", "temperature", "other", "influx refuses");
    }

    // Batches of accepted messages at any time from 1970 to 2262: one line per point in a write, and archive
    // objects under keys of the fixed layout, one per hour, holding every payload once and in order.
    @Test
    void batches_become_one_line_per_point_and_archive_objects_under_fixed_keys() {
        Gen<Long> batchIds = Gen.longs(1, Long.MAX_VALUE);
        forAll(2000, random -> Map.entry(batches().next(random), batchIds.next(random)),
                batchAndId -> checkBatch(batchAndId.getKey(), batchAndId.getValue()));
    }

    /** Runs a property on generated inputs; a failure names the input and the seed that replays it. */
    static <T> void forAll(int tries, Gen<T> inputs, Property<T> property) {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < tries; i++) {
            T input = inputs.next(random);
            try {
                property.check(input);
            } catch (Throwable e) {
                throw new AssertionError("try " + i + " with -Dfuzz.seed=" + SEED + " failed for: " + input, e);
            }
        }
    }

    interface Property<T> {
        void check(T input) throws Exception;
    }

    static void assertReached(String... outcomes) {
        for (String outcome : outcomes) {
            assertTrue(OUTCOMES.getOrDefault(outcome, 0) > 0, "no generated input was " + outcome + " (seed " + SEED + "): " + OUTCOMES);
        }
    }

    static void checkBatch(List<Message> messages, long batchId) throws Exception {
        List<Batch.Item> items = new ArrayList<>();
        for (Message message : messages) {
            Batch.Item item = ingest(message.topic(), message.payload());
            items.add(new Batch.Item(items.size() + 1, item.key(), item.kind(), item.topic(), item.timeMs(), item.payload(), 0, 0, false));
        }
        Batch batch = new Batch(batchId, items, false);

        List<Batch.Item> series = items.stream().filter(i -> !i.kind().equals(MessageValidator.OTHER_KIND)).toList();
        InfluxPoints.Mapped mapped = POINTS.map(new Batch(batchId, series, false), "foxtrackr", "autogen");
        List<Batch.Item> written = series.stream().filter(i -> !mapped.refused().containsKey(i.messageId())).toList();
        List<String> lines = mapped.points().lineProtocol().lines().filter(l -> !l.isEmpty()).toList();
        assertEquals(written.size(), lines.size(), "one line per point: " + lines);
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(written.get(i).timeMs(), LineProtocol.parse(lines.get(i)).time(), "milliseconds, as the write says: " + lines.get(i));
        }

        Map<String, List<byte[]>> expected = new LinkedHashMap<>();
        for (Batch.Item item : items) {
            expected.computeIfAbsent("foxtrackr/raw/" + HOUR.format(Instant.ofEpochMilli(item.timeMs())) + "/local-" + batchId + ".ndjson.gz",
                    k -> new ArrayList<>()).add(item.payload());
        }
        List<Archive.ArchiveObject> objects = archive("local").objects(batch);
        assertEquals(expected.keySet(), objects.stream().map(Archive.ArchiveObject::key).collect(java.util.stream.Collectors.toSet()));
        for (Archive.ArchiveObject object : objects) {
            assertTrue(object.key().matches("foxtrackr/raw/\\d{4}/\\d{2}/\\d{2}/\\d{2}/local-\\d+\\.ndjson\\.gz"), object.key());
            List<byte[]> payloads = expected.get(object.key());
            assertEquals(payloads.size(), object.count());
            List<byte[]> archived = ArchiveRecords.payloads(object.content());
            assertEquals(payloads.size(), archived.size());
            for (int i = 0; i < payloads.size(); i++) {
                assertArrayEquals(payloads.get(i), archived.get(i), "payload " + i + " byte for byte, in order");
            }
        }
    }

    /** The ingest route's checks, then every mapping of what it accepts; or a rejection with a usable reason. */
    static void checkOrRejected(String topic, byte[] payload) throws Exception {
        Batch.Item item;
        try {
            item = ingest(topic, payload);
        } catch (InvalidMessageException rejected) {
            OUTCOMES.merge("rejected", 1, Integer::sum);
            // the exception's own message: Camel logs it at DEBUG, and the rejected store keeps it
            assertTrue(rejected.getMessage().matches("[^\\p{Cc}\\p{Zl}\\p{Zp}]{1,505}"), "a one-line reason: " + rejected.getMessage());
            return;
        }
        OUTCOMES.merge(item.kind(), 1, Integer::sum);
        assertPoint(item);
        assertArchiveLine(item);
    }

    /** What routes/ingest.yaml does before the outbox, with the default kind codes (1 battery, 2 temperature). */
    static Batch.Item ingest(String topic, byte[] payload) throws InvalidMessageException {
        Exchange exchange = new DefaultExchange(CONTEXT);
        exchange.getMessage().setBody(payload);
        exchange.getMessage().setHeader(MessageValidator.TOPIC, topic);
        VALIDATOR.checkSize(exchange);
        VALIDATOR.checkEncoding(exchange);
        MessageValidatorTest.unmarshal(exchange);
        VALIDATOR.checkCommonFields(exchange);
        long type = exchange.getMessage().getHeader(MessageValidator.MESSAGE_TYPE, Long.class);
        String kind = type == 1 ? "battery" : type == 2 ? "temperature" : MessageValidator.OTHER_KIND;
        exchange.getMessage().setHeader(MessageValidator.KIND, kind);
        return new Batch.Item(1, Outbox.key(payload), kind, topic, exchange.getMessage().getHeader(MessageValidator.TIME_MS, Long.class),
                payload, 0, 0, false);
    }

    /**
     * The point's line protocol parses back to the message's kind, device id, group, leaves and time, on one line;
     * or the InfluxDB sink refuses the message, exactly when line protocol cannot carry it.
     */
    static void assertPoint(Batch.Item item) throws IOException {
        if (item.kind().equals(MessageValidator.OTHER_KIND)) {
            return;
        }
        JsonNode root = READER.readTree(item.payload());
        String line;
        try {
            line = POINTS.point(item).lineProtocol();
        } catch (InfluxPoints.UnwritableException refused) {
            OUTCOMES.merge("influx refuses", 1, Integer::sum);
            assertFalse(writable(root, item), "refused only what line protocol cannot carry: " + refused.getMessage());
            return;
        }
        assertTrue(writable(root, item), "written: " + line);
        LineProtocol parsed = LineProtocol.parse(line);
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("deviceId", root.get("deviceId").textValue());
        String[] levels = item.topic().split("/", -1);
        if (levels.length > 1 && !levels[1].isEmpty()) {
            tags.put("group", levels[1]);
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        leaves("", root.get(item.kind()), fields);
        assertEquals(new LineProtocol(item.kind(), tags, fields, root.get("timeMs").longValue() * 1_000_000), parsed, line);
    }

    /**
     * A series object with leaves, and names and texts without a control character, half a surrogate pair, or (names)
     * a backslash before [ ,=] or the end.
     */
    static boolean writable(JsonNode root, Batch.Item item) {
        JsonNode series = root.get(item.kind());
        if (series == null || !series.isObject()) {
            return false;
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        leaves("", series, fields);
        List<String> names = new ArrayList<>(fields.keySet());
        names.add(root.get("deviceId").textValue());
        names.add(String.valueOf(InfluxPoints.group(item.topic())));
        Pattern unwritable = Pattern.compile("\\\\([ ,=]|$)|\\p{Cc}");
        java.util.function.Predicate<String> utf8 = text -> StandardCharsets.UTF_8.newEncoder().canEncode(text);
        return !fields.isEmpty() && names.stream().noneMatch(n -> n.isEmpty() || unwritable.matcher(n).find() || !utf8.test(n))
                && fields.values().stream().noneMatch(v -> v instanceof String text
                        && (text.chars().anyMatch(Character::isISOControl) || !utf8.test(text)));
    }

    /** Every numeric (as a double), boolean or text leaf, nested names joined with '_'. */
    static void leaves(String prefix, JsonNode node, Map<String, Object> into) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode value = field.getValue();
            if (value.isObject()) {
                leaves(prefix + field.getKey() + "_", value, into);
            } else if (value.isBoolean()) {
                into.put(prefix + field.getKey(), value.booleanValue());
            } else if (value.isNumber() && Double.isFinite(value.doubleValue())) {
                into.put(prefix + field.getKey(), value.doubleValue());
            } else if (value.isTextual()) {
                into.put(prefix + field.getKey(), value.textValue());
            }
        }
    }

    /** Archived alone, a payload is one record, its key, topic and receive time beside it, under a key of the layout. */
    static void assertArchiveLine(Batch.Item item) throws Exception {
        Batch batch = new Batch(7, List.of(item), false);
        List<Archive.ArchiveObject> objects = archive("s3").objects(batch);
        assertEquals(1, objects.size());
        assertEquals("foxtrackr/raw/" + HOUR.format(Instant.ofEpochMilli(item.timeMs())) + "/s3-7.ndjson.gz", objects.get(0).key());
        List<ArchiveRecords.Record> records = ArchiveRecords.read(objects.get(0).content());
        assertEquals(1, records.size());
        assertArrayEquals(item.payload(), records.get(0).payload(), "the raw payload");
        assertEquals(item.key(), records.get(0).key());
        assertEquals(item.topic(), records.get(0).topic());
        assertEquals(item.receivedMs(), records.get(0).receivedMs());
    }

    /** One point of InfluxDB line protocol, read strictly: escapes, no raw line break, finite numbers. */
    record LineProtocol(String measurement, Map<String, String> tags, Map<String, Object> fields, long time) {
        // a name: characters but a backslash, space, comma or equals sign, or a backslash and the next character
        // (any: DOTALL, since U+2028 and U+2029 are no line break to InfluxDB)
        private static final String NAME = "(?:[^\\\\ ,=]|\\\\.)++";
        private static final String VALUE = "(?:\"(?:[^\"\\\\]|\\\\.)*+\"|[^ ,\"]++)";
        private static final Pattern SHAPE = Pattern.compile("(" + NAME + ")((?:," + NAME + "=" + NAME + ")*)"
                + " (" + NAME + "=" + VALUE + "(?:," + NAME + "=" + VALUE + ")*) (-?\\d+)", Pattern.DOTALL);
        private static final Pattern TAG = Pattern.compile("(" + NAME + ")=(" + NAME + ")", Pattern.DOTALL);
        private static final Pattern FIELD = Pattern.compile("(" + NAME + ")=(" + VALUE + ")", Pattern.DOTALL);

        static LineProtocol parse(String line) {
            assertFalse(line.contains("\n") || line.contains("\r"), "no raw line break: " + line);
            Matcher m = SHAPE.matcher(line);
            assertTrue(m.matches(), "line protocol: " + line);
            Map<String, String> tags = new LinkedHashMap<>();
            Matcher tag = TAG.matcher(m.group(2));
            while (tag.find()) {
                tags.put(unescape(tag.group(1)), unescape(tag.group(2)));
            }
            Map<String, Object> fields = new LinkedHashMap<>();
            Matcher field = FIELD.matcher(m.group(3));
            while (field.find()) {
                String value = field.group(2);
                Object parsed;
                if (value.startsWith("\"")) {
                    parsed = value.substring(1, value.length() - 1).replaceAll("\\\\([\"\\\\])", "$1");
                } else {
                    assertTrue(value.matches("true|false|-?\\d+(\\.\\d+)?"), "a plain number, boolean or quoted text: " + value);
                    parsed = value.equals("true") || value.equals("false") ? (Object) Boolean.valueOf(value) : (Object) Double.valueOf(value);
                }
                fields.put(unescape(field.group(1)), parsed);
            }
            return new LineProtocol(unescape(m.group(1)), tags, fields, Long.parseLong(m.group(4)));
        }

        private static String unescape(String s) {
            return s.replaceAll("\\\\([ ,=])", "$1");
        }
    }

    record Message(String topic, byte[] payload) {
        @Override
        public String toString() {
            return topic + " " + new String(payload, StandardCharsets.UTF_8);
        }
    }

    // Generators.

    static Gen<byte[]> anyBytes() {
        Gen<byte[]> random = r -> {
            byte[] bytes = new byte[r.nextInt(201)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) r.nextInt(256);
            }
            return bytes;
        };
        Gen<byte[]> mutated = r -> mutate(validMessage().next(r).payload(), r.nextInt(8), r.nextInt(Integer.MAX_VALUE), (byte) r.nextInt(256));
        return Gen.frequency(Gen.w(1, random), Gen.w(8, mutated));
    }

    /**
     * A valid payload with one byte replaced, cut there, inserted or removed; or something after it; or in
     * another encoding; or one character as an overlong UTF-8 sequence; or an encoded surrogate inserted.
     */
    private static byte[] mutate(byte[] payload, int how, int at, byte b) {
        int i = at % payload.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        switch (how) {
            case 0 -> {
                out.write(payload, 0, i);
                out.write(b);
                out.write(payload, i + 1, payload.length - i - 1);
            }
            case 1 -> out.write(payload, 0, i);
            case 2 -> {
                out.write(payload, 0, i);
                out.write(b);
                out.write(payload, i, payload.length - i);
            }
            case 3 -> {
                out.write(payload, 0, i);
                out.write(payload, i + 1, payload.length - i - 1);
            }
            case 4 -> {
                out.writeBytes(payload);
                out.writeBytes(List.of(" ", "\n", " x", "{}", "]", " null", new String(payload, StandardCharsets.UTF_8), "\u0000")
                        .get(at % 8).getBytes(StandardCharsets.UTF_8));
            }
            case 5 -> {
                String text = new String(payload, StandardCharsets.UTF_8);
                out.writeBytes(at % 5 == 4 ? ("\uFEFF" + text).getBytes(StandardCharsets.UTF_8)
                        : text.getBytes(java.nio.charset.Charset.forName(List.of("UTF-16BE", "UTF-16LE", "UTF-16", "UTF-32").get(at % 4))));
            }
            case 6 -> {
                out.write(payload, 0, i);
                if (payload[i] >= 0) {
                    out.write(0xC0 | payload[i] >> 6);
                    out.write(0x80 | payload[i] & 0x3F);
                } else {
                    out.write(payload[i]);
                }
                out.write(payload, i + 1, payload.length - i - 1);
            }
            default -> {
                out.write(payload, 0, i);
                out.writeBytes(new byte[] {(byte) 0xED, (byte) (0xA0 | at & 0x1F), (byte) 0x80});
                out.write(payload, i, payload.length - i);
            }
        }
        return out.toByteArray();
    }

    static Gen<List<Message>> batches() {
        Gen<Message> accepted = r -> {
            int type = Gen.of(1, 2, 7).next(r);
            ObjectNode root = NODES.objectNode().put("messageType", type).put("deviceId", name().next(r)).put("version", 3)
                    .put("timeMs", r.nextLong(0, MessageValidator.MAX_TIME_MS + 1));
            root.putObject(type == 1 ? "battery" : "temperature").put("level", anyDouble().next(r));
            return new Message("foxtrackr/grp/V3.0/x", write(root, false));
        };
        return accepted.list(1, 20);
    }

    static Gen<Message> messages() {
        return Gen.frequency(Gen.w(3, validMessage()), Gen.w(2, anyMessage()));
    }

    /** Messages the checks should take: hostile but allowed device ids, groups and field names, and any values. */
    private static Gen<Message> validMessage() {
        Gen<String> topic = Gen.frequency(Gen.w(8, name().map(g -> "foxtrackr/" + g + "/V3.0/bat")),
                Gen.w(1, Gen.just("foxtrackr")), Gen.w(1, name().list(0, 6).map(l -> String.join("/", l))));
        return r -> {
            int type = Gen.of(1, 2, 7).next(r);
            ObjectNode root = NODES.objectNode().put("messageType", type).put("deviceId", name().next(r)).put("version", 3)
                    .put("timeMs", r.nextLong(0, MessageValidator.MAX_TIME_MS + 1));
            root.set(type == 1 ? "battery" : type == 2 ? "temperature" : "position", series(name(), 3).next(r).put("level", 1));
            return new Message(topic.next(r), write(root, r.nextInt(10) == 0));
        };
    }

    /** Anything shaped like a message: wrong types, missing fields, any text anywhere. */
    private static Gen<Message> anyMessage() {
        Gen<JsonNode> messageType = Gen.frequency(Gen.w(5, Gen.just(NODES.numberNode(1))), Gen.w(3, Gen.just(NODES.numberNode(2))),
                Gen.w(1, Gen.just(NODES.numberNode(7))), Gen.w(1, oddValue()));
        Gen<JsonNode> deviceId = Gen.frequency(Gen.w(9, text().map(NODES::textNode)), Gen.w(1, oddValue()));
        Gen<JsonNode> timeMs = Gen.frequency(
                Gen.w(9, Gen.longs(0, MessageValidator.MAX_TIME_MS).map(NODES::numberNode)),
                Gen.w(1, Gen.of(-1L, MessageValidator.MAX_TIME_MS + 1, Long.MAX_VALUE, Long.MIN_VALUE).map(NODES::numberNode)),
                Gen.w(1, oddValue()));
        Gen<String> seriesName = Gen.frequency(Gen.w(8, Gen.just("")), Gen.w(1, Gen.of("battery", "temperature")), Gen.w(1, text()));
        Gen<ObjectNode> extras = Gen.maps(text(), value(text(), 1), 3).map(IngestFuzzTest::object);
        Gen<String> topic = Gen.frequency(Gen.w(6, text().map(g -> "foxtrackr/" + g + "/V3.0/bat")),
                Gen.w(1, Gen.just("foxtrackr")), Gen.w(1, text().list(0, 6).map(l -> String.join("/", l))));
        return r -> {
            JsonNode type = messageType.next(r);
            ObjectNode series = series(text(), 3).next(r);
            ObjectNode root = NODES.objectNode();
            root.set("messageType", type);
            root.set("deviceId", deviceId.next(r));
            root.put("version", 3);
            root.set("timeMs", timeMs.next(r));
            String kind = type.isInt() && type.intValue() == 1 ? "battery" : type.isInt() && type.intValue() == 2 ? "temperature" : "position";
            String name = seriesName.next(r);
            root.set(name.isEmpty() ? kind : name, series);
            extras.next(r).fields().forEachRemaining(e -> root.putIfAbsent(e.getKey(), e.getValue()));
            int style = r.nextInt(10);
            if (style == 0) {
                root.remove(List.of("messageType", "deviceId", "timeMs").get(series.size() % 3));
            }
            return new Message(topic.next(r), write(root, style == 1));
        };
    }

    private static final char[] ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".toCharArray();
    private static final char[] ALPHA_AND_SEPARATORS = (new String(ALPHANUMERIC, 0, 52) + new String(SEPARATORS)).toCharArray();
    private static final char[] ALPHA_SEPARATORS_AND_BREAKING = (new String(ALPHA_AND_SEPARATORS) + new String(BREAKING)).toCharArray();

    /** Names the checks allow, made of the separators of line protocol, paths, headers and JSON, and of Unicode. */
    private static Gen<String> name() {
        return Gen.frequency(
                Gen.w(3, Gen.stringsOf(1, 12, ALPHANUMERIC)),
                Gen.w(5, Gen.stringsOf(1, 40, ALPHA_AND_SEPARATORS)),
                Gen.w(1, Gen.strings(1, 10, '\u0400', '\u04ff', '\u4e00', '\u4eff').map(s -> s + "\uD83E\uDD8A")),
                Gen.w(1, Gen.stringsOf(120, 128, ALPHA_AND_SEPARATORS)));
    }

    /** Any text: allowed names, line breaks, controls, backslashes, half surrogate pairs, long. */
    private static Gen<String> text() {
        return Gen.frequency(
                Gen.w(4, name()),
                Gen.w(3, Gen.stringsOf(0, 20, ALPHA_SEPARATORS_AND_BREAKING)),
                Gen.w(2, Gen.strings(0, 20, '\u0000', '\uffff')),
                Gen.w(1, Gen.stringsOf(129, 140, ALPHA_AND_SEPARATORS)));
    }

    private static Gen<Double> anyDouble() {
        return Gen.frequency(Gen.w(3, r -> r.nextDouble(-1e12, 1e12)),
                Gen.w(1, Gen.of(Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE, -0.0, 0.0, 1e-300, 1e300)));
    }

    /** A series object: numbers of every size, booleans, text, nulls, arrays and nested objects. */
    private static Gen<ObjectNode> series(Gen<String> names, int depth) {
        return Gen.maps(names, value(names, depth), 5).map(IngestFuzzTest::object);
    }

    private static Gen<JsonNode> value(Gen<String> names, int depth) {
        Gen<JsonNode> leaf = Gen.frequency(
                Gen.w(3, r -> NODES.numberNode(r.nextDouble(-1e6, 1e6))),
                Gen.w(2, Gen.of(Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE, -0.0, 1e-300, 1e300, 0.1).map(NODES::numberNode)),
                Gen.w(2, r -> NODES.numberNode(r.nextLong())),
                Gen.w(1, r -> NODES.numberNode(BigInteger.TEN.pow(19).add(new BigInteger(130, new java.util.Random(r.nextLong()))))),
                Gen.w(2, r -> NODES.booleanNode(r.nextBoolean())),
                Gen.w(1, text().map(NODES::textNode)),
                Gen.w(1, Gen.just(NODES.nullNode())));
        if (depth == 0) {
            return leaf;
        }
        return Gen.frequency(Gen.w(6, leaf), Gen.w(2, series(names, depth - 1)),
                Gen.w(1, leaf.list(0, 3).map(l -> NODES.arrayNode().addAll(l))));
    }

    /** A value of the wrong type for a common field. */
    private static Gen<JsonNode> oddValue() {
        return Gen.oneOf(text().map(NODES::textNode), Gen.just(NODES.nullNode()),
                Gen.of(1.5, -1.0, 1e20).map(NODES::numberNode),
                Gen.just(NODES.numberNode(new BigInteger("123456789012345678901234567890"))),
                r -> NODES.objectNode(), r -> NODES.arrayNode().add(1));
    }

    private static ObjectNode object(Map<String, JsonNode> fields) {
        ObjectNode node = NODES.objectNode();
        fields.forEach(node::set);
        return node;
    }

    /** The tree as JSON text, pretty (over several lines) or not; half a surrogate pair can only be written escaped. */
    private static byte[] write(JsonNode root, boolean pretty) {
        ObjectWriter writer = pretty ? JSON.writerWithDefaultPrettyPrinter() : JSON.writer();
        try {
            return writer.writeValueAsBytes(root);
        } catch (IOException unpaired) {
            try {
                return writer.with(JsonWriteFeature.ESCAPE_NON_ASCII).writeValueAsBytes(root);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
