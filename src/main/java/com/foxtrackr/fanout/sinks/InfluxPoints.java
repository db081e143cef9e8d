package com.foxtrackr.fanout.sinks;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.influxdb.InfluxDBException;
import org.influxdb.dto.BatchPoints;
import org.influxdb.dto.Point;

import com.foxtrackr.fanout.outbox.Batch;
import com.foxtrackr.fanout.outbox.DeliveryRefused;

/**
 * Maps claimed deliveries to InfluxDB points: measurement = kind, tags deviceId and group (the topic's
 * second level), fields = the numeric, boolean and string leaves of the series object, time = timeMs.
 * Points are deterministic, so writing one again overwrites it instead of doubling it. A message that no point
 * can hold is refused by this sink alone (its dead-letter queue, with the reason); the other sinks take it.
 */
public class InfluxPoints {
    /**
     * Line protocol escapes a space, comma or equals sign with a backslash but has no escape for a backslash
     * itself: one before those characters or at the end of a name would change the point's structure.
     */
    private static final Pattern UNWRITABLE_NAME = Pattern.compile("\\\\([ ,=]|$)|\\p{Cc}");

    private final ObjectMapper json;

    public InfluxPoints(ObjectMapper json) {
        this.json = json;
    }

    /** The points of a batch, and the messages (id -> reason) that none can hold. */
    public record Mapped(BatchPoints points, Map<Long, String> refused) {
        public boolean hasPoints() {
            return !points.getPoints().isEmpty();
        }

        /**
         * By identity: the route's ${body.points()} looks its method up in a cache keyed by the body, and a batch's
         * hash code would otherwise hash every point (a third of the sink's CPU during a drain).
         */
        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public boolean equals(Object other) {
            return this == other;
        }
    }

    /** A message that InfluxDB cannot hold as a point: a reason for this sink's dead-letter queue. */
    public static class UnwritableException extends Exception {
        UnwritableException(String reason) {
            super(reason);
        }
    }

    public Mapped map(Batch batch, String database, String retentionPolicy) throws IOException {
        BatchPoints.Builder points = BatchPoints.database(database).retentionPolicy(retentionPolicy)
                .precision(TimeUnit.MILLISECONDS);
        Map<Long, String> refused = new LinkedHashMap<>();
        for (Batch.Item item : batch.items()) {
            try {
                points.point(point(item));
            } catch (UnwritableException e) {
                refused.put(item.messageId(), "not written to InfluxDB: " + e.getMessage());
            }
        }
        return new Mapped(points.build(), refused);
    }

    public Point point(Batch.Item item) throws IOException, UnwritableException {
        JsonNode root = json.readTree(item.payload());
        String kind = item.kind();
        String deviceId = root.get("deviceId").textValue();
        checkName("deviceId", deviceId);
        JsonNode series = root.get(kind);
        if (series == null || !series.isObject()) {
            throw new UnwritableException("a " + kind + " message needs an object field '" + kind + "'");
        }
        Map<String, Object> fields = SeriesFields.of(series);
        if (fields.isEmpty()) {
            throw new UnwritableException("'" + kind + "' has no number, boolean or string");
        }
        Point.Builder point = Point.measurement(kind)
                .time(root.get("timeMs").longValue(), TimeUnit.MILLISECONDS)
                .tag("deviceId", deviceId);
        String group = group(item.topic());
        if (group != null) {
            checkName("the topic's group", group);
            point.tag("group", group);
        }
        for (Map.Entry<String, Object> field : fields.entrySet()) {
            checkName(kind + " field name", field.getKey());
            Object value = field.getValue();
            if (value instanceof Boolean b) {
                point.addField(field.getKey(), b);
            } else if (value instanceof Double d) {
                point.addField(field.getKey(), d);
            } else if (((String) value).chars().anyMatch(Character::isISOControl) || !encodable((String) value)) {
                throw new UnwritableException(kind + " field '" + field.getKey() + "' holds a control character or half a surrogate pair, which line protocol cannot carry");
            } else {
                point.addField(field.getKey(), (String) value);
            }
        }
        return point.build();
    }

    private static void checkName(String what, String name) throws UnwritableException {
        if (name.isEmpty()) {
            throw new UnwritableException(what + " is empty");
        }
        if (!encodable(name)) {
            throw new UnwritableException(what + " has half a surrogate pair, which UTF-8 cannot carry");
        }
        if (UNWRITABLE_NAME.matcher(name).find()) {
            throw new UnwritableException(what + " has a control character, or a backslash before a space, comma, equals sign"
                    + " or its end, which line protocol cannot carry");
        }
    }

    /** Whether UTF-8 holds the text as it is: not when it has half a surrogate pair (JSON's escapes allow one). */
    private static boolean encodable(String text) {
        return java.nio.charset.StandardCharsets.UTF_8.newEncoder().canEncode(text);
    }

    /** The second level of a FoxTrackr topic: a device id or a group name. */
    public static String group(String topic) {
        String[] levels = topic.split("/", -1);
        return levels.length > 1 && !levels[1].isEmpty() ? levels[1] : null;
    }

    /**
     * The influxdb route's doCatch: a write that InfluxDB refused for points of the batch (a field type conflict, a
     * "partial write") is refused for good (its messages are then written one by one, to find the one); any other
     * failure is thrown again, and the sink backs off.
     */
    public void classify(Exchange exchange) throws Exception {
        Exception error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        if (isPermanent(error)) {
            Throwable cause = error;
            while (!(cause instanceof InfluxDBException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            throw new DeliveryRefused(cause.getMessage());
        }
        throw error;
    }

    /**
     * Errors about the points themselves: retrying the same batch cannot help, isolating them can. InfluxDB
     * answers "partial write" when it refused some points of a write (a field named "time", a type conflict,
     * a series limit) and kept the others.
     */
    static boolean isPermanent(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof InfluxDBException.FieldTypeConflictException
                    || t instanceof InfluxDBException.UnableToParseException
                    || t instanceof InfluxDBException.PointsBeyondRetentionPolicyException
                    || t.getClass() == InfluxDBException.class && t.getMessage() != null && t.getMessage().startsWith("partial write")) {
                return true;
            }
        }
        return false;
    }
}
