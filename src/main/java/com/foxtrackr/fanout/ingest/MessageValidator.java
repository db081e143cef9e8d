package com.foxtrackr.fanout.ingest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

import com.foxtrackr.fanout.config.Secrets;

/**
 * Checks the common FoxTrackr fields of a message and puts them in headers for routing and storage.
 * Everything it refuses is refused with a reason that goes with the payload to the rejected-input store.
 */
public class MessageValidator {
    public static final String MESSAGE_TYPE = "FanoutMessageType";
    public static final String DEVICE_ID = "FanoutDeviceId";
    public static final String TIME_MS = "FanoutTimeMs";
    public static final String KIND = "FanoutKind";
    public static final String TOPIC = "CamelMqttTopic";
    public static final String OTHER_KIND = "other";
    /** InfluxDB stores nanoseconds in a signed 64-bit number: the last representable millisecond is in 2262. */
    public static final long MAX_TIME_MS = 9_223_372_036_854L;

    private static final java.util.regex.Pattern SOURCE_NOTE = java.util.regex.Pattern.compile("Source: REDACTED \\([^)]*\\); ");

    private final int maxPayloadBytes;

    public MessageValidator(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
    }

    /**
     * The parser of payloads (the ingest route's unmarshal uses it, as the bean payloadJson): strict about duplicate
     * keys, depth, sizes and anything after the object.
     */
    public static ObjectMapper objectMapper(int maxPayloadBytes) {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(32)
                        .maxStringLength(maxPayloadBytes)
                        .maxNumberLength(64)
                        .build())
                .build();
        // "{...} {...}" would otherwise pass as its first object, and reach the archive as two on one line
        return new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    public void checkSize(Exchange exchange) throws InvalidMessageException {
        byte[] payload = exchange.getMessage().getBody(byte[].class);
        if (payload == null || payload.length == 0) {
            throw new InvalidMessageException("empty payload");
        }
        if (payload.length > maxPayloadBytes) {
            throw new InvalidMessageException("payload of " + payload.length + " bytes is over the limit of "
                    + maxPayloadBytes + " bytes (fanout.ingest.max-payload-bytes)");
        }
    }

    /**
     * JSON between systems is UTF-8 (RFC 8259). The parser would also take UTF-16 and UTF-32, a byte order mark,
     * and overlong or surrogate UTF-8 sequences, and the archive and partners would then get raw bytes that
     * are not the JSON text that was checked.
     */
    public void checkEncoding(Exchange exchange) throws InvalidMessageException {
        byte[] payload = exchange.getMessage().getBody(byte[].class);
        if (payload.length >= 3 && payload[0] == (byte) 0xEF && payload[1] == (byte) 0xBB && payload[2] == (byte) 0xBF) {
            throw new InvalidMessageException("payload starts with a byte order mark: JSON text is UTF-8 without one");
        }
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                throw new InvalidMessageException("payload has a NUL byte at position " + i + ": JSON text is UTF-8, not UTF-16 or UTF-32");
            }
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(payload);
        CoderResult result = utf8.decode(in, CharBuffer.allocate(payload.length), true);
        if (result.isError()) {
            throw new InvalidMessageException("payload is not valid UTF-8 at byte " + in.position());
        }
    }

    /** Body: the parsed payload. Sets the message type, device id and time headers. */
    public void checkCommonFields(Exchange exchange) throws InvalidMessageException {
        Message message = exchange.getMessage();
        JsonNode root = message.getBody(JsonNode.class);
        if (root == null || !root.isObject()) {
            throw new InvalidMessageException("payload is not a JSON object");
        }
        message.setHeader(MESSAGE_TYPE, integral(root, "messageType", 0, Integer.MAX_VALUE));
        integral(root, "version", 0, Integer.MAX_VALUE);
        message.setHeader(TIME_MS, integral(root, "timeMs", 0, MAX_TIME_MS));
        JsonNode deviceId = root.get("deviceId");
        if (deviceId == null) {
            throw new InvalidMessageException("missing field 'deviceId'");
        }
        if (!deviceId.isTextual()) {
            throw new InvalidMessageException("field 'deviceId' must be a string, not " + typeName(deviceId));
        }
        message.setHeader(DEVICE_ID, checkDeviceId(deviceId.textValue()));
        String topic = message.getHeader(TOPIC, String.class);
        if (topic != null) {
            checkName("topic", topic);
        }
    }

    private static long integral(JsonNode root, String field, long min, long max) throws InvalidMessageException {
        JsonNode node = root.get(field);
        if (node == null) {
            throw new InvalidMessageException("missing field '" + field + "'");
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw new InvalidMessageException("field '" + field + "' must be a whole number, not " + typeName(node));
        }
        long value = node.longValue();
        if (value < min || value > max) {
            throw new InvalidMessageException("field '" + field + "' is out of range: " + value);
        }
        return value;
    }

    /**
     * A device id goes to every sink, whatever its length or characters: only InfluxDB has limits, and its sink
     * refuses alone what it cannot hold. A control character or half a surrogate pair is refused here, since it
     * would forge log lines and headers everywhere.
     */
    static String checkDeviceId(String value) throws InvalidMessageException {
        if (value.isEmpty()) {
            throw new InvalidMessageException("deviceId is empty");
        }
        checkCharacters("deviceId", value);
        return value;
    }

    /** A topic ends up in tags and logs: no control characters, no backslash. */
    static String checkName(String what, String value) throws InvalidMessageException {
        if (value.isEmpty()) {
            throw new InvalidMessageException(what + " is empty");
        }
        int backslash = value.indexOf('\\');
        if (backslash >= 0) {
            throw new InvalidMessageException(what + " contains a backslash at position " + backslash);
        }
        checkCharacters(what, value);
        return value;
    }

    private static void checkCharacters(String what, String value) throws InvalidMessageException {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) || Character.isSurrogate(c) && !validSurrogate(value, i)) {
                throw new InvalidMessageException(what + " contains a control character or broken character at position " + i);
            }
        }
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    private static String typeName(JsonNode node) {
        return node.getNodeType().name().toLowerCase();
    }

    /**
     * A reason fit for a log line or a table cell: one line, printable, bounded. A long one keeps its start and
     * its end, where an error that quotes its input says what is wrong with it.
     */
    public static String reason(Throwable error) {
        String text = error instanceof JacksonException json ? json.getOriginalMessage() : error.getMessage();
        if (text == null) {
            text = error.getClass().getSimpleName();
        }
        // the parser's locations say how it hides the input ("Source: REDACTED (...)"): only line and column tell
        text = SOURCE_NOTE.matcher(text).replaceAll("");
        int newline = text.indexOf('\n');
        if (newline >= 0) {
            text = text.substring(0, newline);
        }
        // C0 and C1 controls (NEL among them) and the Unicode line and paragraph separators
        text = text.replaceAll("[\\p{Cc}\\p{Zl}\\p{Zp}]", "?");
        text = Secrets.redact(text);
        return text.length() > 500 ? text.substring(0, 250) + " ... " + text.substring(text.length() - 250) : text;
    }
}
