package com.foxtrackr.fanout.outbox;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.foxtrackr.fanout.config.ConfigException;

/** The sinks an outbox delivers for, as their routes add them at start-up, checked against fanout.sinks. */
final class SinkSet {
    private volatile Map<String, Sink> sinks = Map.of();
    /** The sinks of the configuration, whose routes add them; null when the caller configures them itself. */
    private Set<String> expected;

    void expect(Collection<String> names) {
        expected = Set.copyOf(names);
    }

    /** A route reads from outbox:name: the name must be listed, and read by no other route. */
    void check(Sink sink) {
        if (expected != null && !expected.contains(sink.name())) {
            throw new ConfigException("fanout.sinks", "does not list '" + sink.name() + "', which a route reads with from: outbox:"
                    + sink.name() + " (listed: " + String.join(", ", new TreeSet<>(expected)) + ")");
        }
        if (sinks.containsKey(sink.name())) {
            throw new ConfigException("fanout.sink." + sink.name() + ".type", "has two routes reading from outbox:" + sink.name()
                    + ": one route per sink");
        }
    }

    /** Adds a checked sink; true once every expected sink is there. */
    boolean add(Sink sink) {
        Map<String, Sink> added = new LinkedHashMap<>(sinks);
        added.put(sink.name(), sink);
        sinks = Collections.unmodifiableMap(added);
        return expected != null && sinks.keySet().containsAll(expected);
    }

    Sink get(String name) {
        return sinks.get(name);
    }

    Map<String, Sink> all() {
        return sinks;
    }
}
