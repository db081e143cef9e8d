package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * What a Java engineer would write by hand for the same feed, for the drain benchmark's comparison
 * (-Dbench.plain=true): Paho on a persistent session, Jackson, Apache HttpClient with 8 kept-alive connections to the
 * partner (a POST per message, with its Idempotency-Key), and InfluxDB 1.x line protocol in writes of up to 5,000
 * points. It acknowledges a message when it has handed it to the two sinks' queues (bounded: a full queue holds the
 * broker back), and retries a failed call or write after a second. It does less than the bundle: nothing on disk
 * (a crash loses what is queued), no archive, no repeat detection, no dead letters, no metrics.
 *
 * <p>Run as a process of its own: PlainConsumer brokerUrl clientId qos influxWriteUrl partnerUrl; it prints
 * "subscribed" once it is, and runs until it is stopped.
 */
public final class PlainConsumer {
    static final int PARTNER_CONNECTIONS = 8;
    static final int INFLUX_BATCH = 5000;

    public static void main(String[] args) throws Exception {
        String brokerUrl = args[0];
        String clientId = args[1];
        int qos = Integer.parseInt(args[2]);
        String influxWriteUrl = args[3];
        String partnerUrl = args[4];

        ObjectMapper json = new ObjectMapper();
        BlockingQueue<String> points = new ArrayBlockingQueue<>(20_000);
        BlockingQueue<MqttMessage> calls = new ArrayBlockingQueue<>(20_000);
        CloseableHttpClient http = HttpClients.custom()
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setDefaultConnectionConfig(ConnectionConfig.custom().setConnectTimeout(Timeout.ofSeconds(5)).build())
                        .setMaxConnPerRoute(PARTNER_CONNECTIONS + 1).setMaxConnTotal(PARTNER_CONNECTIONS + 1).build())
                .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(10)).build())
                .disableAutomaticRetries().disableRedirectHandling().disableCookieManagement().build();

        for (int i = 0; i < PARTNER_CONNECTIONS; i++) {
            daemon("partner-" + i, () -> {
                MqttMessage message = calls.take();
                HttpPost post = new HttpPost(partnerUrl);
                post.setHeader("Idempotency-Key", clientId + "-" + message.getId() + "-" + Integer.toHexString(java.util.Arrays.hashCode(message.getPayload())));
                post.setEntity(new ByteArrayEntity(message.getPayload(), ContentType.APPLICATION_JSON));
                while (!send(http, post)) {
                    Thread.sleep(1000);
                }
            });
        }
        daemon("influx", () -> {
            List<String> batch = new ArrayList<>();
            batch.add(points.take());
            points.drainTo(batch, INFLUX_BATCH - 1);
            HttpPost write = new HttpPost(influxWriteUrl);
            write.setEntity(new ByteArrayEntity(String.join("\n", batch).getBytes(StandardCharsets.UTF_8), ContentType.TEXT_PLAIN));
            while (!send(http, write)) {
                Thread.sleep(1000);
            }
        });

        MqttClient client = new MqttClient(brokerUrl, clientId, new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            public void messageArrived(String topic, MqttMessage message) throws Exception {
                JsonNode node = json.readTree(message.getPayload());
                String point = point(node);
                if (point != null) {
                    points.put(point);
                }
                calls.put(message);
                // returning acknowledges it (Paho's automatic acknowledgement)
            }

            public void connectionLost(Throwable cause) {
                System.out.println("connection lost: " + cause);
            }

            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(false);
        options.setMaxInflight(1000);
        options.setAutomaticReconnect(true);
        client.connect(options);
        client.subscribe("foxtrackr/#", qos);
        System.out.println("subscribed");
        Thread.currentThread().join();
    }

    /** The message's InfluxDB point in line protocol (battery or temperature, to the millisecond), or null. */
    static String point(JsonNode message) {
        String device = message.path("deviceId").asText().replace(" ", "\\ ").replace(",", "\\,").replace("=", "\\=");
        long time = message.path("timeMs").asLong();
        return switch (message.path("messageType").asInt()) {
            case 1 -> "battery,deviceId=" + device + " level=" + message.path("battery").path("level").asLong() + "i,voltage="
                    + message.path("battery").path("voltage").asDouble() + " " + time;
            case 2 -> "temperature,deviceId=" + device + " value=" + message.path("temperature").path("value").asDouble() + " " + time;
            default -> null;
        };
    }

    static boolean send(CloseableHttpClient http, HttpPost post) {
        try {
            return http.execute(post, response -> {
                EntityUtils.consume(response.getEntity());
                return response.getCode() < 300;
            });
        } catch (java.io.IOException e) {
            return false;
        }
    }

    interface Step {
        void run() throws Exception;
    }

    static void daemon(String name, Step step) {
        Thread thread = new Thread(() -> {
            while (true) {
                try {
                    step.run();
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    System.out.println(name + ": " + e);
                }
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }
}
