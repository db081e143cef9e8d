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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.Tuple;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the ingest checks, the InfluxDB point mapping and the archive mapping with 10,000 generated inputs a
 * run: only a rejection with a one-line reason may escape, and every point and archive line is well formed.
 */
class IngestFuzzTest {
    static final int LIMIT = 65536;
    static final MessageValidator VALIDATOR = new MessageValidator(LIMIT);
    static final ObjectMapper JSON = MessageValidator.objectMapper(LIMIT);
    static final InfluxPoints POINTS = new InfluxPoints(JSON);
    /** A reader that is not the product's: plain Jackson, refusing anything after the value. */
    static final ObjectMapper READER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final Archive ARCHIVE = new Archive();
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
    @Property(tries = 3000, edgeCases = EdgeCasesMode.NONE)
    void any_bytes_are_accepted_and_mapped_or_rejected_with_a_reason(@ForAll("anyBytes") byte[] payload) throws Exception {
        checkOrRejected("foxtrackr/g/V3.0/bat", payload);
    }

    // Generated FoxTrackr-like messages, hostile device ids, field names, numbers and topics included: an accepted
    // one is exactly one well-formed point (measurement, escaped tags, fields, time) and one archive line.
    @Property(tries = 5000, edgeCases = EdgeCasesMode.NONE)
    void generated_messages_become_exact_points_and_archive_lines_or_are_rejected(@ForAll("messages") Message message) throws Exception {
        checkOrRejected(message.topic(), message.payload());
    }

    // Batches of accepted messages at any time from 1970 to 2262: one line per point in a write, and archive
    // objects under keys of the fixed layout, one per hour, holding every payload once and in order.
    @Property(tries = 2000)
    void batches_become_one_line_per_point_and_archive_objects_under_fixed_keys(
            @ForAll("batches") List<Message> messages, @ForAll("batchIds") long batchId) throws Exception {
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
        List<Archive.ArchiveObject> objects = ARCHIVE.objects(batch, "foxtrackr/raw", "local");
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
            Statistics.collect("rejected");
            // the exception's own message: Camel logs it at DEBUG, and the rejected store keeps it
            assertTrue(rejected.getMessage().matches("[^\\p{Cc}\\p{Zl}\\p{Zp}]{1,505}"), "a one-line reason: " + rejected.getMessage());
            return;
        }
        Statistics.collect(item.kind());
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
        VALIDATOR.parse(exchange);
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
            Statistics.collect("influx refuses");
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

    /** A series object with leaves, and names and texts without a control character or a backslash before [ ,=] or the end. */
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
        return !fields.isEmpty() && names.stream().noneMatch(n -> n.isEmpty() || unwritable.matcher(n).find())
                && fields.values().stream().noneMatch(v -> v instanceof String text && text.chars().anyMatch(Character::isISOControl));
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
        List<Archive.ArchiveObject> objects = ARCHIVE.objects(batch, "foxtrackr/raw", "s3");
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
        private static final String NAME = "(?:[^\\\\ ,=]|\\\\.)++";
        private static final String VALUE = "(?:\"(?:[^\"\\\\]|\\\\.)*+\"|[^ ,\"]++)";
        private static final Pattern SHAPE = Pattern.compile("(" + NAME + ")((?:," + NAME + "=" + NAME + ")*)"
                + " (" + NAME + "=" + VALUE + "(?:," + NAME + "=" + VALUE + ")*) (-?\\d+)");
        private static final Pattern TAG = Pattern.compile("(" + NAME + ")=(" + NAME + ")");
        private static final Pattern FIELD = Pattern.compile("(" + NAME + ")=(" + VALUE + ")");

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

    @Provide
    Arbitrary<byte[]> anyBytes() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
        Arbitrary<byte[]> mutated = Combinators.combine(validMessage(), Arbitraries.integers().between(0, 7),
                Arbitraries.integers().greaterOrEqual(0), Arbitraries.bytes()).as((message, how, at, b) -> mutate(message.payload(), how, at, b));
        return Arbitraries.frequencyOf(Tuple.of(1, random), Tuple.of(8, mutated));
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

    @Provide
    Arbitrary<List<Message>> batches() {
        Arbitrary<Message> accepted = Combinators.combine(Arbitraries.of(1, 2, 7), name(), Arbitraries.longs().between(0, MessageValidator.MAX_TIME_MS),
                Arbitraries.doubles()).as((type, deviceId, time, level) -> {
                    ObjectNode root = NODES.objectNode().put("messageType", type).put("deviceId", deviceId).put("version", 3).put("timeMs", time);
                    root.putObject(type == 1 ? "battery" : "temperature").put("level", level);
                    return new Message("foxtrackr/grp/V3.0/x", write(root, false));
                });
        return accepted.list().ofMinSize(1).ofMaxSize(20);
    }

    @Provide
    Arbitrary<Long> batchIds() {
        return Arbitraries.longs().between(1, Long.MAX_VALUE);
    }

    @Provide
    Arbitrary<Message> messages() {
        return Arbitraries.frequencyOf(Tuple.of(3, validMessage()), Tuple.of(2, anyMessage()));
    }

    /** Messages the checks should take: hostile but allowed device ids, groups and field names, and any values. */
    private static Arbitrary<Message> validMessage() {
        Arbitrary<String> topic = Arbitraries.frequencyOf(Tuple.of(8, name().map(g -> "foxtrackr/" + g + "/V3.0/bat")),
                Tuple.of(1, Arbitraries.just("foxtrackr")), Tuple.of(1, name().list().ofMaxSize(6).map(l -> String.join("/", l))));
        return Combinators.combine(Arbitraries.of(1, 2, 7), name(), Arbitraries.longs().between(0, MessageValidator.MAX_TIME_MS),
                series(name(), 3), topic, Arbitraries.integers().between(0, 9)).as((type, deviceId, time, series, t, style) -> {
                    ObjectNode root = NODES.objectNode().put("messageType", type).put("deviceId", deviceId).put("version", 3).put("timeMs", time);
                    root.set(type == 1 ? "battery" : type == 2 ? "temperature" : "position", series.put("level", 1));
                    return new Message(t, write(root, style == 0));
                });
    }

    /** Anything shaped like a message: wrong types, missing fields, any text anywhere. */
    private static Arbitrary<Message> anyMessage() {
        Arbitrary<JsonNode> messageType = Arbitraries.frequencyOf(Tuple.of(5, Arbitraries.just((JsonNode) NODES.numberNode(1))),
                Tuple.of(3, Arbitraries.just((JsonNode) NODES.numberNode(2))), Tuple.of(1, Arbitraries.just((JsonNode) NODES.numberNode(7))),
                Tuple.of(1, oddValue()));
        Arbitrary<JsonNode> deviceId = Arbitraries.frequencyOf(Tuple.of(9, text().map(t -> (JsonNode) NODES.textNode(t))), Tuple.of(1, oddValue()));
        Arbitrary<JsonNode> timeMs = Arbitraries.frequencyOf(
                Tuple.of(9, Arbitraries.longs().between(0, MessageValidator.MAX_TIME_MS).map(t -> (JsonNode) NODES.numberNode(t))),
                Tuple.of(1, Arbitraries.of(-1L, MessageValidator.MAX_TIME_MS + 1, Long.MAX_VALUE, Long.MIN_VALUE).map(t -> (JsonNode) NODES.numberNode(t))),
                Tuple.of(1, oddValue()));
        Arbitrary<String> seriesName = Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just("")), Tuple.of(1, Arbitraries.of("battery", "temperature")),
                Tuple.of(1, text()));
        Arbitrary<ObjectNode> extras = Arbitraries.maps(text(), value(text(), 1)).ofMaxSize(3).map(IngestFuzzTest::object);
        Arbitrary<String> topic = Arbitraries.frequencyOf(Tuple.of(6, text().map(g -> "foxtrackr/" + g + "/V3.0/bat")),
                Tuple.of(1, Arbitraries.just("foxtrackr")), Tuple.of(1, text().list().ofMaxSize(6).map(l -> String.join("/", l))));
        return Combinators.combine(messageType, deviceId, timeMs, seriesName, series(text(), 3), extras, topic, Arbitraries.integers().between(0, 9))
                .as((type, id, time, name, series, extra, t, style) -> {
                    ObjectNode root = NODES.objectNode();
                    root.set("messageType", type);
                    root.set("deviceId", id);
                    root.put("version", 3);
                    root.set("timeMs", time);
                    String kind = type.isInt() && type.intValue() == 1 ? "battery" : type.isInt() && type.intValue() == 2 ? "temperature" : "position";
                    root.set(name.isEmpty() ? kind : name, series);
                    extra.fields().forEachRemaining(e -> root.putIfAbsent(e.getKey(), e.getValue()));
                    if (style == 0) {
                        root.remove(List.of("messageType", "deviceId", "timeMs").get(series.size() % 3));
                    }
                    return new Message(t, write(root, style == 1));
                });
    }

    /** Names the checks allow, made of the separators of line protocol, paths, headers and JSON, and of Unicode. */
    private static Arbitrary<String> name() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.strings().alpha().numeric().withChars('-', '_').ofMinLength(1).ofMaxLength(12)),
                Tuple.of(5, Arbitraries.strings().alpha().withChars(SEPARATORS).ofMinLength(1).ofMaxLength(40)),
                Tuple.of(1, Arbitraries.strings().withCharRange('\u0400', '\u04ff').withCharRange('\u4e00', '\u4eff').ofMinLength(1).ofMaxLength(10)
                        .map(s -> s + "\uD83E\uDD8A")),
                Tuple.of(1, Arbitraries.strings().alpha().withChars(SEPARATORS).ofMinLength(120).ofMaxLength(128)));
    }

    /** Any text: allowed names, line breaks, controls, backslashes, half surrogate pairs, too long. */
    private static Arbitrary<String> text() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, name()),
                Tuple.of(3, Arbitraries.strings().alpha().withChars(SEPARATORS).withChars(BREAKING).ofMaxLength(20)),
                Tuple.of(2, Arbitraries.strings().all().ofMaxLength(20)),
                Tuple.of(1, Arbitraries.strings().alpha().withChars(SEPARATORS).ofMinLength(129).ofMaxLength(140)));
    }

    /** A series object: numbers of every size, booleans, text, nulls, arrays and nested objects. */
    private static Arbitrary<ObjectNode> series(Arbitrary<String> names, int depth) {
        return Arbitraries.maps(names, value(names, depth)).ofMaxSize(5).map(IngestFuzzTest::object);
    }

    private static Arbitrary<JsonNode> value(Arbitrary<String> names, int depth) {
        Arbitrary<JsonNode> leaf = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.doubles().between(-1e6, 1e6).map(d -> (JsonNode) NODES.numberNode(d))),
                Tuple.of(2, Arbitraries.of(Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE, -0.0, 1e-300, 1e300, 0.1)
                        .map(d -> (JsonNode) NODES.numberNode(d))),
                Tuple.of(2, Arbitraries.longs().map(l -> (JsonNode) NODES.numberNode(l))),
                Tuple.of(1, Arbitraries.bigIntegers().between(BigInteger.TEN.pow(19), BigInteger.TEN.pow(40)).map(b -> (JsonNode) NODES.numberNode(b))),
                Tuple.of(2, Arbitraries.of(true, false).map(b -> (JsonNode) NODES.booleanNode(b))),
                Tuple.of(1, text().map(t -> (JsonNode) NODES.textNode(t))),
                Tuple.of(1, Arbitraries.just((JsonNode) NODES.nullNode())));
        if (depth == 0) {
            return leaf;
        }
        return Arbitraries.frequencyOf(Tuple.of(6, leaf), Tuple.of(2, series(names, depth - 1).map(o -> (JsonNode) o)),
                Tuple.of(1, leaf.list().ofMaxSize(3).map(l -> (JsonNode) NODES.arrayNode().addAll(l))));
    }

    /** A value of the wrong type for a common field. */
    private static Arbitrary<JsonNode> oddValue() {
        return Arbitraries.oneOf(text().map(t -> (JsonNode) NODES.textNode(t)), Arbitraries.just((JsonNode) NODES.nullNode()),
                Arbitraries.of(1.5, -1.0, 1e20).map(d -> (JsonNode) NODES.numberNode(d)),
                Arbitraries.just((JsonNode) NODES.numberNode(new BigInteger("123456789012345678901234567890"))),
                Arbitraries.just((JsonNode) NODES.objectNode()), Arbitraries.just((JsonNode) NODES.arrayNode().add(1)));
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
