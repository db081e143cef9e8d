package com.foxtrackr.fanout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.camel.CamelContext;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.influxdb.InfluxDB;
import org.influxdb.dto.Query;
import software.amazon.awssdk.services.s3.S3Client;

/** The check command's probes: one real connection per source and sink, as the bundle would make it. */
final class Probes {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private Probes() {
    }

    /**
     * Connects with the sources' URL, TLS trust and credentials, and subscribes to the source's topic filter,
     * under a client id of its own with a clean session: the source's persistent session is never touched.
     */
    static String broker(MqttConnection connection, String clientId, String topic, int qos) throws Exception {
        MqttConnectOptions options = new MqttConnectOptions();
        connection.apply(options);
        options.setCleanSession(true);
        options.setConnectionTimeout((int) TIMEOUT.toSeconds());
        MqttClient probe = new MqttClient(connection.url(), clientId + "-check", new MemoryPersistence());
        try {
            probe.connect(options);
            int granted = probe.subscribeWithResponse(topic, qos).getGrantedQos()[0];
            probe.disconnect();
            return "connected to " + connection.url() + ", subscribed to " + topic + " at QoS " + granted;
        } catch (MqttException e) {
            if (e.getReasonCode() == MqttException.REASON_CODE_SUBSCRIBE_FAILED) {
                throw new IllegalStateException("connected, but the broker refuses the subscription to " + topic);
            }
            throw new IllegalStateException(connection.describe(e).reason(), e);
        } finally {
            probe.close(true);
        }
    }

    static Callable<String> sink(CamelContext context, String sink, String type, Map<String, String> parameters) {
        return switch (type) {
            case "influxdb" -> () -> {
                InfluxDB influx = context.getRegistry().lookupByNameAndType("influxdb-" + sink, InfluxDB.class);
                String version = influx.ping().getVersion();
                String database = parameters.get("database");
                boolean exists = influx.query(new Query("SHOW DATABASES")).getResults().get(0).getSeries().stream()
                        .flatMap(series -> series.getValues() == null ? java.util.stream.Stream.empty() : series.getValues().stream())
                        .anyMatch(row -> database.equals(row.get(0)));
                if (!exists) {
                    throw new IllegalStateException("InfluxDB " + version + " at " + parameters.get("url") + " has no database " + database);
                }
                return "InfluxDB " + version + ", database " + database;
            };
            case "s3" -> () -> {
                S3Client s3 = context.getRegistry().lookupByNameAndType("s3-" + sink, S3Client.class);
                s3.headBucket(b -> b.bucket(parameters.get("bucket")));
                return "bucket " + parameters.get("bucket") + " is there";
            };
            case "directory" -> () -> {
                Path directory = Path.of(parameters.get("directory"));
                Files.createDirectories(directory);
                Files.delete(Files.createTempFile(directory, ".check", ".tmp"));
                return "can write in " + directory.toAbsolutePath();
            };
            case "http" -> () -> context.getRegistry().lookupByNameAndType("partnerCalls", PartnerCalls.class).probe(sink);
            default -> () -> "not checked: a Camel endpoint, tried only when it delivers";
        };
    }
}
