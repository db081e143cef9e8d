package com.foxtrackr.fanout.sinks;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.influxdb.dto.Point;
import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.Batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The mapping of a message to an InfluxDB point and its line protocol. */
class InfluxPointsTest {
    final InfluxPoints points = new InfluxPoints(MessageValidator.objectMapper(65536));

    @Test
    void should_write_every_numeric_boolean_and_string_leaf_as_a_field_and_time_in_ms() throws Exception {
        String payload = "{\"messageType\":1,\"deviceId\":\"A-77\",\"version\":3,\"timeMs\":1764000180000,"
                + "\"battery\":{\"level\":12,\"voltage\":3.41,\"charging\":true,\"note\":\"x\",\"cells\":{\"min\":3}},\"rssi\":-97}";
        Point point = points.point(item("battery", "foxtrackr/grp/V3.0/bat", payload));
        assertEquals("battery,deviceId=A-77,group=grp cells_min=3.0,charging=true,level=12.0,note=\"x\",voltage=3.41 1764000180000000000",
                point.lineProtocol());
    }

    @Test
    void should_escape_tag_values_that_would_break_line_protocol() throws Exception {
        String payload = "{\"messageType\":2,\"deviceId\":\"a,b=c d\",\"version\":3,\"timeMs\":1,\"temperature\":{\"value\":1}}";
        Point point = points.point(item("temperature", "foxtrackr/my group,x=1/V3.0/temp", payload));
        assertEquals("temperature,deviceId=a\\,b\\=c\\ d,group=my\\ group\\,x\\=1 value=1.0 1000000", point.lineProtocol());
    }

    // A long device id, or one with a backslash line protocol can carry, is written as it is.
    @Test
    void should_write_a_long_device_id_and_a_backslash_inside_a_name() throws Exception {
        String id = "d".repeat(200);
        Point point = points.point(item("battery", "foxtrackr/grp/V3.0/bat", battery("\"" + id + "\"", "\"state\":\"lo\\\\w\"")));
        assertEquals("battery,deviceId=" + id + ",group=grp state=\"lo\\\\w\" 1000000", point.lineProtocol());
        point = points.point(item("battery", "foxtrackr/grp/V3.0/bat", battery("\"back\\\\slash\"", "\"level\":1")));
        assertEquals("battery,deviceId=back\\slash,group=grp level=1.0 1000000", point.lineProtocol());
    }

    // What no point can hold is refused by the InfluxDB sink alone, with a reason; the rest of the batch is written.
    @Test
    void should_refuse_alone_what_no_point_can_hold() throws Exception {
        List<String> payloads = List.of(
                battery("\"ok\"", "\"level\":1"),
                battery("\"ends-with\\\\\"", "\"level\":1"),
                battery("\"a\\\\,b\"", "\"level\":1"),
                battery("\"d\"", "\"state\":\"two\\nlines\""),
                battery("\"d\"", ""),
                "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1}",
                "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1,\"battery\":5}",
                battery("\"d\"", "\"bad\\\\\":1"));
        List<Batch.Item> items = new java.util.ArrayList<>();
        for (int i = 0; i < payloads.size(); i++) {
            items.add(new Batch.Item(i + 1, "key", "battery", "foxtrackr/grp/V3.0/bat", 0, payloads.get(i).getBytes(StandardCharsets.UTF_8), 0, 0, false));
        }
        InfluxPoints.Mapped mapped = points.map(new Batch(1, items, false), "foxtrackr", "autogen");
        assertEquals(1, mapped.points().getPoints().size());
        assertEquals(java.util.Set.of(2L, 3L, 4L, 5L, 6L, 7L, 8L), mapped.refused().keySet());
        assertEquals("not written to InfluxDB: deviceId has a control character, or a backslash before a space, comma, equals sign"
                + " or its end, which line protocol cannot carry", mapped.refused().get(2L));
        assertEquals("not written to InfluxDB: battery field 'state' holds a control character or half a surrogate pair, which line protocol cannot carry",
                mapped.refused().get(4L));
        assertEquals("not written to InfluxDB: 'battery' has no number, boolean or string", mapped.refused().get(5L));
        assertEquals("not written to InfluxDB: a battery message needs an object field 'battery'", mapped.refused().get(6L));
        assertEquals("not written to InfluxDB: a battery message needs an object field 'battery'", mapped.refused().get(7L));
    }

    private static String battery(String deviceIdJson, String fieldsJson) {
        return "{\"messageType\":1,\"deviceId\":" + deviceIdJson + ",\"version\":3,\"timeMs\":1,\"battery\":{" + fieldsJson + "}}";
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
