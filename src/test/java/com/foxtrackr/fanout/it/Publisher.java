package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/** A device-side publisher: each publish returns once the broker has the message (QoS 2 by default). */
final class Publisher implements AutoCloseable {
    private final MqttClient client;
    private final int qos;

    Publisher(Mosquitto broker) throws MqttException {
        this(broker, 2);
    }

    Publisher(Mosquitto broker, int qos) throws MqttException {
        this.qos = qos;
        client = new MqttClient(broker.publisherUrl(), "publisher-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions options = new MqttConnectOptions();
        options.setMaxInflight(1000);
        client.connect(options);
    }

    void publish(String topic, String payload) throws MqttException {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    /** Publishes the payloads in order, in the background, while the test does something else (kills the bundle). */
    java.util.concurrent.CompletableFuture<Void> publishInBackground(String topic, java.util.List<String> payloads) {
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                for (String payload : payloads) {
                    publish(topic, payload);
                }
            } catch (MqttException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    void publish(String topic, byte[] payload) throws MqttException {
        client.publish(topic, payload, qos, false);
    }

    /**
     * Messages from..to-1, battery and temperature over 1,000 devices, each a distinct point, published with
     * mosquitto_pub at most 50,000 per connection: one mosquitto_pub that publishes more than 65,535 messages
     * (its packet ids wrap) gets only about a third of them queued by Mosquitto 2.0.11.
     */
    static void backlog(Mosquitto broker, int qos, int from, int to) throws IOException, InterruptedException {
        for (int chunk = from; chunk < to; chunk += 50_000) {
            Path lines = Files.createTempFile("backlog", ".ndjson");
            try (var out = Files.newBufferedWriter(lines)) {
                for (int i = chunk; i < Math.min(to, chunk + 50_000); i++) {
                    String device = "dev-" + (i % 1000);
                    long time = Messages.T0 + (long) i * 1000;
                    out.write(i % 2 == 0 ? Messages.battery(device, time, i % 100) : Messages.temperature(device, time, 20.5));
                    out.write('\n');
                }
            }
            Process pub = new ProcessBuilder(Services.binary("mosquitto_pub", "mosquitto-clients"), "-h", "127.0.0.1",
                    "-p", String.valueOf(broker.publisherPort()), "-q", String.valueOf(qos), "-t", "foxtrackr/grp/V3.0/bat", "-l")
                    .redirectInput(lines.toFile()).redirectErrorStream(true).start();
            pub.getInputStream().transferTo(OutputStream.nullOutputStream());
            if (pub.waitFor() != 0) {
                throw new IllegalStateException("mosquitto_pub failed");
            }
            Files.delete(lines);
        }
    }

    @Override
    public void close() throws MqttException {
        client.disconnect();
        client.close();
    }
}
