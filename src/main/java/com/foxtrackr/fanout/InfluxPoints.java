package com.foxtrackr.fanout;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.influxdb.InfluxDBException;
import org.influxdb.dto.BatchPoints;
import org.influxdb.dto.Point;

/**
 * Maps claimed deliveries to InfluxDB points: measurement = kind, tags deviceId and group (the topic's
 * second level), fields = the numeric and boolean leaves of the series object, time = timeMs.
 * Points are deterministic, so writing one again overwrites it instead of doubling it.
 */
public class InfluxPoints {
    private final ObjectMapper json;

    public InfluxPoints(ObjectMapper json) {
        this.json = json;
    }

    public BatchPoints toBatchPoints(Batch batch, String database, String retentionPolicy) throws IOException {
        BatchPoints.Builder points = BatchPoints.database(database).retentionPolicy(retentionPolicy)
                .precision(TimeUnit.MILLISECONDS);
        for (Batch.Item item : batch.items()) {
            points.point(point(item));
        }
        return points.build();
    }

    Point point(Batch.Item item) throws IOException {
        JsonNode root = json.readTree(item.payload());
        Point.Builder point = Point.measurement(item.kind())
                .time(root.get("timeMs").longValue(), TimeUnit.MILLISECONDS)
                .tag("deviceId", root.get("deviceId").textValue());
        String group = group(item.topic());
        if (group != null) {
            point.tag("group", group);
        }
        for (Map.Entry<String, Object> field : SeriesFields.of(root.get(item.kind())).entrySet()) {
            if (field.getValue() instanceof Boolean b) {
                point.addField(field.getKey(), b);
            } else {
                point.addField(field.getKey(), (Double) field.getValue());
            }
        }
        return point.build();
    }

    /** The second level of a FoxTrackr topic: a device id or a group name. */
    static String group(String topic) {
        String[] levels = topic.split("/", -1);
        return levels.length > 1 && !levels[1].isEmpty() ? levels[1] : null;
    }

    /**
     * Errors about the points themselves: retrying the same batch cannot help, isolating them can. InfluxDB
     * answers "partial write" when it refused some points of a write (a field named "time", a type conflict,
     * a series limit) and kept the others.
     */
    public static boolean isPermanent(Throwable error) {
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
