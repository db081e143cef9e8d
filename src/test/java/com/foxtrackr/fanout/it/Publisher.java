package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;

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
        client = new MqttClient(broker.url(), "publisher-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions options = new MqttConnectOptions();
        options.setMaxInflight(1000);
        client.connect(options);
    }

    void publish(String topic, String payload) throws MqttException {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    void publish(String topic, byte[] payload) throws MqttException {
        client.publish(topic, payload, qos, false);
    }

    @Override
    public void close() throws MqttException {
        client.disconnect();
        client.close();
    }
}
