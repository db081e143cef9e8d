package com.foxtrackr.fanout.sinks;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The fields of a series object: every numeric, boolean or string leaf, nested names joined with '_'.
 * Numbers are always doubles, so that 87 and 87.5 never conflict as field types in InfluxDB.
 */
public final class SeriesFields {
    private SeriesFields() {
    }

    public static Map<String, Object> of(JsonNode series) {
        Map<String, Object> fields = new LinkedHashMap<>();
        collect("", series, fields);
        return fields;
    }

    private static void collect(String prefix, JsonNode node, Map<String, Object> fields) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = prefix + entry.getKey();
            JsonNode value = entry.getValue();
            if (value.isObject()) {
                collect(name + "_", value, fields);
            } else if (value.isBoolean()) {
                fields.put(name, value.booleanValue());
            } else if (value.isNumber() && Double.isFinite(value.doubleValue())) {
                fields.put(name, value.doubleValue());
            } else if (value.isTextual()) {
                fields.put(name, value.textValue());
            }
        }
    }
}
