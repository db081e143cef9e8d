package com.foxtrackr.fanout;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.influxdb.dto.Point;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The mapping of a message to an InfluxDB point and its line protocol. */
class InfluxPointsTest {
    final InfluxPoints points = new InfluxPoints(MessageValidator.objectMapper(65536));

    @Test
    void should_write_every_numeric_and_boolean_leaf_as_a_field_and_time_in_ms() throws Exception {
        String payload = "{\"messageType\":1,\"deviceId\":\"A-77\",\"version\":3,\"timeMs\":1764000180000,"
                + "\"battery\":{\"level\":12,\"voltage\":3.41,\"charging\":true,\"note\":\"x\",\"cells\":{\"min\":3}},\"rssi\":-97}";
        Point point = points.point(item("battery", "foxtrackr/grp/V3.0/bat", payload));
        assertEquals("battery,deviceId=A-77,group=grp cells_min=3.0,charging=true,level=12.0,voltage=3.41 1764000180000000000",
                point.lineProtocol());
    }

    @Test
    void should_escape_tag_values_that_would_break_line_protocol() throws Exception {
        String payload = "{\"messageType\":2,\"deviceId\":\"a,b=c d\",\"version\":3,\"timeMs\":1,\"temperature\":{\"value\":1}}";
        Point point = points.point(item("temperature", "foxtrackr/my group,x=1/V3.0/temp", payload));
        assertEquals("temperature,deviceId=a\\,b\\=c\\ d,group=my\\ group\\,x\\=1 value=1.0 1000000", point.lineProtocol());
    }

    @Test
    void should_take_the_group_from_the_second_topic_level() {
        assertEquals("grp", InfluxPoints.group("foxtrackr/grp/V3.0/bat"));
        assertNull(InfluxPoints.group("foxtrackr"));
        assertNull(InfluxPoints.group("foxtrackr//V3.0/bat"));
    }

    @Test
    void should_treat_only_errors_about_the_points_as_permanent() {
        assertEquals(List.of(true, true, true, false, false, false), List.of(
                InfluxPoints.isPermanent(new RuntimeException("wrapped", org.influxdb.InfluxDBException.buildExceptionForErrorState(
                        "{\"error\":\"unable to parse 'x': missing fields\"}"))),
                InfluxPoints.isPermanent(org.influxdb.InfluxDBException.buildExceptionForErrorState("{\"error\":\"partial write: field type conflict: input field \\\"charging\\\" is type float dropped=1\"}")),
                // a field named "time": InfluxDB keeps the rest of the write and refuses that point for ever
                InfluxPoints.isPermanent(org.influxdb.InfluxDBException.buildExceptionForErrorState("{\"error\":\"partial write: invalid field name: input field \\\"time\\\" on measurement \\\"battery\\\" is invalid dropped=1\"}")),
                InfluxPoints.isPermanent(org.influxdb.InfluxDBException.buildExceptionForErrorState("{\"error\":\"database not found: \\\"x\\\"\"}")),
                InfluxPoints.isPermanent(org.influxdb.InfluxDBException.buildExceptionForErrorState("{\"error\":\"partial write: cache-max-memory-size exceeded: (1/1)\"}")),
                InfluxPoints.isPermanent(new java.io.IOException("connection refused"))));
    }

    static Batch.Item item(String kind, String topic, String payload) {
        return new Batch.Item(1, "key", kind, topic, 0, payload.getBytes(StandardCharsets.UTF_8), 0, 0, false);
    }
}
