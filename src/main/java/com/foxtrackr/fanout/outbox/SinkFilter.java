package com.foxtrackr.fanout.outbox;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.eclipse.paho.client.mqttv3.MqttTopic;

import com.foxtrackr.fanout.config.ConfigException;

/**
 * Which messages a sink takes: kinds by name (battery, temperature, other) or messageType code, and
 * MQTT topic filters (such as foxtrackr/north_group/#). Empty lists take everything.
 */
public record SinkFilter(Set<String> kinds, Set<Long> codes, List<String> topics) {

    public static SinkFilter parse(String prefix, String kindList, String topicList) {
        Set<String> kinds = new LinkedHashSet<>();
        Set<Long> codes = new LinkedHashSet<>();
        for (String kind : split(kindList)) {
            if (kind.matches("[0-9]+")) {
                codes.add(Long.parseLong(kind));
            } else if (kind.matches("[a-z][a-z0-9_-]*")) {
                kinds.add(kind);
            } else {
                throw new ConfigException(prefix + "kinds", "has '" + kind + "': give kind names or messageType codes");
            }
        }
        List<String> topics = new ArrayList<>();
        for (String topic : split(topicList)) {
            try {
                MqttTopic.validate(topic, true);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(prefix + "topics", "has '" + topic + "', which is not an MQTT topic filter");
            }
            topics.add(topic);
        }
        return new SinkFilter(kinds, codes, topics);
    }

    private static List<String> split(String list) {
        return list == null ? List.of() : List.of(list.split(",")).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public boolean accepts(String kind, long messageType, String topic) {
        boolean kindOk = kinds.isEmpty() && codes.isEmpty() || kinds.contains(kind) || codes.contains(messageType);
        return kindOk && (topics.isEmpty() || topics.stream().anyMatch(filter -> MqttTopic.isMatched(filter, topic)));
    }

    @Override
    public String toString() {
        String what = kinds.isEmpty() && codes.isEmpty() ? "all kinds" : "kinds " + String.join(",", kinds)
                + (codes.isEmpty() ? "" : (kinds.isEmpty() ? "" : ",") + codes.stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElse(""));
        return what + (topics.isEmpty() ? "" : " on " + String.join(",", topics));
    }
}
