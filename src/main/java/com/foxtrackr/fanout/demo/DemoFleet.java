package com.foxtrackr.fanout.demo;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.config.Settings;
import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * The demo's simulated fleet: a few devices that each publish a battery and a temperature message per round,
 * in the FoxTrackr shape, to the embedded broker over MQTT, so that they take the real source and ingest routes.
 * A round is sent once every source has subscribed (the broker keeps nothing for a subscription that does not
 * exist yet), so that a run of n rounds delivers exactly n x devices x 2 messages.
 */
final class DemoFleet implements AutoCloseable {
    /** The fleet's group, the topics' second level: foxtrackr/demo_fleet/V3.0/bat and .../temp. */
    static final String GROUP = "demo_fleet";
    private static final Logger LOG = LoggerFactory.getLogger(DemoFleet.class);

    record Settings(String brokerUrl, int devices, long intervalMs, long rounds, int qos, long batteryCode, long temperatureCode) {
    }

    private final Settings settings;
    private final BooleanSupplier sourcesSubscribed;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "demo-fleet");
        thread.setDaemon(true);
        return thread;
    });
    private final int[] level;
    private final boolean[] charging;
    private MqttClient client;
    private boolean started;
    private long round;
    private long lastTimeMs;
    private String lastError;

    DemoFleet(Settings settings, BooleanSupplier sourcesSubscribed) {
        this.settings = settings;
        this.sourcesSubscribed = sourcesSubscribed;
        level = new int[settings.devices()];
        charging = new boolean[settings.devices()];
        for (int i = 0; i < level.length; i++) {
            level[i] = 100 - (i * 17) % 70;
        }
    }

    static String deviceId(int index) {
        return String.format(Locale.ROOT, "demo-%02d", index + 1);
    }

    void start() {
        timer.scheduleWithFixedDelay(this::round, 0, settings.intervalMs(), TimeUnit.MILLISECONDS);
    }

    private void round() {
        try {
            if (!started) {
                if (!sourcesSubscribed.getAsBoolean()) {
                    return;
                }
                started = true;
            }
            if (client == null) {
                client = new MqttClient(settings.brokerUrl(), "demo-fleet", new MemoryPersistence());
            }
            if (!client.isConnected()) {
                MqttConnectOptions options = new MqttConnectOptions();
                options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
                options.setCleanSession(true);
                client.connect(options);
            }
            long timeMs = Math.max(System.currentTimeMillis(), lastTimeMs + 1);
            lastTimeMs = timeMs;
            for (int i = 0; i < level.length; i++) {
                publish("bat", battery(i, timeMs));
                publish("temp", temperature(i, timeMs));
            }
            round++;
            if (lastError != null) {
                LOG.info("demo: the simulated fleet publishes again");
                lastError = null;
            }
            if (round == settings.rounds()) {
                LOG.info("demo: the simulated fleet sent its {} rounds ({} messages) and stops", round, round * level.length * 2);
                timer.shutdown();
            }
        } catch (MqttException | RuntimeException e) {
            String reason = MessageValidator.reason(e);
            if (!reason.equals(lastError)) {
                LOG.warn("demo: the simulated fleet cannot publish: {}", reason);
                lastError = reason;
            }
        }
    }

    /** The battery drains by one point a round, and charges back to full once it is low. */
    private String battery(int device, long timeMs) {
        if (level[device] <= 15) {
            charging[device] = true;
        } else if (level[device] >= 100) {
            charging[device] = false;
        }
        level[device] = Math.max(0, Math.min(100, level[device] + (charging[device] ? 5 : -1)));
        double voltage = 3.3 + 0.9 * level[device] / 100.0;
        return String.format(Locale.ROOT, "{\"messageType\":%d,\"deviceId\":\"%s\",\"version\":3,\"timeMs\":%d,"
                + "\"battery\":{\"level\":%d,\"voltage\":%.2f,\"charging\":%b}}",
                settings.batteryCode(), deviceId(device), timeMs, level[device], voltage, charging[device]);
    }

    private String temperature(int device, long timeMs) {
        double value = 18 + 1.5 * device + 2 * Math.sin((round + device) / 10.0);
        return String.format(Locale.ROOT, "{\"messageType\":%d,\"deviceId\":\"%s\",\"version\":3,\"timeMs\":%d,"
                + "\"temperature\":{\"value\":%.1f}}", settings.temperatureCode(), deviceId(device), timeMs, value);
    }

    private void publish(String type, String payload) throws MqttException {
        client.publish("foxtrackr/" + GROUP + "/V3.0/" + type, payload.getBytes(StandardCharsets.UTF_8), settings.qos(), false);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (client != null) {
            try {
                if (client.isConnected()) {
                    client.disconnect();
                }
                client.close();
            } catch (MqttException e) {
                LOG.debug("demo: closing the fleet's connection: {}", e.getMessage());
            }
        }
    }
}
