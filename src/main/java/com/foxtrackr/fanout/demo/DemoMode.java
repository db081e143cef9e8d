package com.foxtrackr.fanout.demo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.camel.CamelContext;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.ConfigFolder;
import com.foxtrackr.fanout.config.Settings;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.source.SourceState;

/**
 * The first run, with no broker configured (fanout.mqtt.url unset): an embedded MQTT broker on 127.0.0.1 and a
 * simulated fleet publishing to it, so that messages take the real source, ingest, outbox and sinks; with no
 * archive configured, the archive is a directory under the data directory. Setting fanout.mqtt.url turns it off.
 */
public final class DemoMode implements AutoCloseable {
    static final String ARCHIVE = "archive";

    private final Settings settings;
    private final int wantedPort;
    private final int devices;
    private final long intervalMs;
    private final long rounds;
    private EmbeddedBroker broker;
    private DemoFleet fleet;
    private Path archive;

    private DemoMode(Settings settings) {
        this.settings = settings;
        wantedPort = (int) settings.number("fanout.demo.broker-port", 1883, 0, 65535);
        devices = (int) settings.number("fanout.demo.devices", 3, 1, 1000);
        intervalMs = settings.number("fanout.demo.interval-ms", 5000, 100, 86_400_000);
        rounds = settings.number("fanout.demo.rounds", 0, 0, Long.MAX_VALUE);
    }

    /**
     * The demo when fanout.mqtt.url is unset (or empty), else null. Credentials, a CA file or a source with a
     * client id of the vendor's (not id-demo-*) say the operator meant a real broker: then the start stops instead.
     */
    public static DemoMode ifNoBroker(Settings settings) {
        if (settings.optional("fanout.mqtt.url").isPresent()) {
            return null;
        }
        if (System.getenv("FANOUT_MQTT_URL") != null) {
            throw emptyInTheEnvironment(); // set but blank: it would win over the embedded broker's URL
        }
        List<String> meantForABroker = new ArrayList<>();
        for (String key : List.of("fanout.mqtt.username", "fanout.mqtt.password", "fanout.mqtt.tls.ca-file")) {
            settings.optional(key).ifPresent(value -> meantForABroker.add(key));
        }
        for (String source : settings.list("fanout.sources")) {
            String key = "fanout.source." + source + ".client-id";
            settings.optional(key).filter(id -> !id.startsWith("id-demo-")).ifPresent(id -> meantForABroker.add(key + "=" + id));
        }
        if (!meantForABroker.isEmpty()) {
            throw new ConfigException("fanout.mqtt.url", "is not set, which starts the demo (an embedded broker and a simulated fleet), "
                    + "but " + String.join(", ", meantForABroker) + " is set for a real broker: set fanout.mqtt.url to the broker's "
                    + "URL (or, for the demo, unset those and use client ids id-demo-NN)");
        }
        return new DemoMode(settings);
    }

    /**
     * Starts the embedded broker (the check command starts none) and points fanout.mqtt.url at it, which the
     * sources then read as they would read the vendor's.
     */
    public void startBroker(CamelContext context, boolean checkOnly) {
        if (System.getenv("FANOUT_MQTT_URL") != null) {
            throw emptyInTheEnvironment(); // set but blank: it would win over the embedded broker's URL
        }
        String url = "tcp://" + EmbeddedBroker.HOST + ":" + wantedPort;
        if (!checkOnly) {
            try {
                broker = EmbeddedBroker.start(wantedPort);
            } catch (Exception e) {
                throw new ConfigException("fanout.demo.broker-port", "(" + wantedPort + "): the embedded broker cannot start: "
                        + MessageValidator.reason(e));
            }
            url = broker.url();
        }
        context.getPropertiesComponent().addOverrideProperty("fanout.mqtt.url", url);
        if (!url.equals(context.getPropertiesComponent().resolveProperty("fanout.mqtt.url").orElse(""))) {
            close();
            throw emptyInTheEnvironment(); // only an environment variable wins over the override
        }
    }

    private static ConfigException emptyInTheEnvironment() {
        return new ConfigException("fanout.mqtt.url", "is empty in the environment (FANOUT_MQTT_URL): unset it for the demo, "
                + "or give the broker's URL");
    }

    /** The sinks to create: the configured ones, and a directory archive under the data directory when none archives. */
    public List<String> sinks(CamelContext context, List<String> configured) {
        for (String sink : configured) {
            if (sink.equals(ARCHIVE) || Set.of("s3", "directory").contains(settings.text("fanout.sink." + sink + ".type", ""))) {
                return configured;
            }
        }
        archive = ConfigFolder.resolve(settings.text("fanout.data-dir", "data")).resolve(ARCHIVE).toAbsolutePath();
        defaultProperty(context, "fanout.sink." + ARCHIVE + ".type", "directory");
        defaultProperty(context, "fanout.sink." + ARCHIVE + ".directory", archive.toString());
        // a file every ten seconds rather than every minute, so that a first look finds one
        defaultProperty(context, "fanout.sink." + ARCHIVE + ".max-age-ms", "10000");
        List<String> sinks = new ArrayList<>(configured);
        sinks.add(ARCHIVE);
        return sinks;
    }

    private void defaultProperty(CamelContext context, String key, String value) {
        if (settings.optional(key).isEmpty()) {
            context.getPropertiesComponent().addOverrideProperty(key, value);
        }
    }

    /** Starts publishing; the first round goes out once every source has subscribed. */
    public void startFleet(SourceState.All sources) {
        if (broker == null) {
            return;
        }
        fleet = new DemoFleet(new DemoFleet.Settings(broker.url(), devices, intervalMs, rounds,
                (int) settings.number("fanout.mqtt.qos", 2, 0, 2),
                settings.number("fanout.kind.battery.code", 1, Long.MIN_VALUE, Long.MAX_VALUE),
                settings.number("fanout.kind.temperature.code", 2, Long.MIN_VALUE, Long.MAX_VALUE)), () -> {
                    boolean any = false;
                    for (SourceState source : sources.all()) {
                        if (!source.connected) {
                            return false;
                        }
                        any = true;
                    }
                    return any;
                });
        fleet.start();
    }

    /** For the status page: "demo: embedded broker on 127.0.0.1:1883, simulated fleet of 3 devices". */
    public String description() {
        return "demo: " + what();
    }

    /** The start-up banner's lines about the demo. */
    public List<String> banner() {
        return List.of(description() + "; configure fanout.mqtt.url to use the vendor's broker",
                "demo: each device publishes a battery and a temperature message every " + intervalMs + " ms to foxtrackr/"
                        + DemoFleet.GROUP + "/V3.0/bat and .../temp" + (rounds > 0 ? ", " + rounds + " times" : ""));
    }

    private String what() {
        return "embedded broker on " + EmbeddedBroker.HOST + ":" + (broker == null ? wantedPort : broker.port())
                + ", simulated fleet of " + devices + " devices";
    }

    /** The check command's line for a source: no broker to try. */
    public String probe() {
        return "demo: fanout.mqtt.url is not set; a run starts an embedded broker on " + EmbeddedBroker.HOST
                + " (fanout.demo.broker-port " + wantedPort + ", or a free one) and a simulated fleet";
    }

    /** The directory archive the demo added, or null when one is configured. */
    Path archive() {
        return archive;
    }

    /** Stops the fleet, before the sources stop. */
    public void stopFleet() {
        if (fleet != null) {
            fleet.close();
            fleet = null;
        }
    }

    /** Stops the broker, once the sources have stopped. */
    @Override
    public void close() {
        stopFleet();
        if (broker != null) {
            broker.close();
        }
    }
}
