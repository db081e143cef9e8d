package com.foxtrackr.fanout;

import java.util.Map;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

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
    public static final int MAX_DEVICE_ID_LENGTH = 128;
    /** InfluxDB stores nanoseconds in a signed 64-bit number: the last representable millisecond is in 2262. */
    public static final long MAX_TIME_MS = 9_223_372_036_854L;

    private final int maxPayloadBytes;

    public MessageValidator(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
    }

    /** The parser used for payloads: strict about duplicate keys, depth and sizes. */
    public static ObjectMapper objectMapper(int maxPayloadBytes) {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(32)
                        .maxStringLength(maxPayloadBytes)
                        .maxNumberLength(64)
                        .build())
                .build();
        return new ObjectMapper(factory);
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
        message.setHeader(DEVICE_ID, checkName("deviceId", deviceId.textValue()));
        String topic = message.getHeader(TOPIC, String.class);
        if (topic != null) {
            checkName("topic", topic);
        }
    }

    /** A series kind (anything but "other") needs an object of its own name with numeric or boolean leaves. */
    public void checkSeries(Exchange exchange) throws InvalidMessageException {
        String kind = exchange.getMessage().getHeader(KIND, String.class);
        if (kind == null || OTHER_KIND.equals(kind)) {
            return;
        }
        JsonNode series = exchange.getMessage().getBody(JsonNode.class).get(kind);
        if (series == null || !series.isObject()) {
            throw new InvalidMessageException("a " + kind + " message needs an object field '" + kind + "'");
        }
        Map<String, Object> fields = SeriesFields.of(series);
        for (String field : fields.keySet()) {
            checkName(kind + " field", field);
        }
        if (fields.isEmpty()) {
            throw new InvalidMessageException("'" + kind + "' has no numeric or boolean value");
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

    /** Ids and names end up in tags, keys and logs: no control characters, no backslash, bounded length. */
    static String checkName(String what, String value) throws InvalidMessageException {
        if (value.isEmpty()) {
            throw new InvalidMessageException(what + " is empty");
        }
        if (value.length() > MAX_DEVICE_ID_LENGTH && !"topic".equals(what)) {
            throw new InvalidMessageException(what + " is longer than " + MAX_DEVICE_ID_LENGTH + " characters");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) || c == '\\' || Character.isSurrogate(c) && !validSurrogate(value, i)) {
                throw new InvalidMessageException(what + " contains a control character, backslash or broken character at position " + i);
            }
        }
        return value;
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

    /** A reason fit for a log line or a table cell: one line, printable, bounded. */
    public static String reason(Throwable error) {
        String text = error instanceof JacksonException json ? json.getOriginalMessage() : error.getMessage();
        if (text == null) {
            text = error.getClass().getSimpleName();
        }
        int newline = text.indexOf('\n');
        if (newline >= 0) {
            text = text.substring(0, newline);
        }
        text = text.replaceAll("\\p{Cntrl}", "?");
        text = Secrets.redact(text);
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }
}
