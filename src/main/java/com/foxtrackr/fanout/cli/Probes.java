package com.foxtrackr.fanout.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.hc.client5.http.classic.methods.HttpHead;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.util.Timeout;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.influxdb.InfluxDB;
import org.influxdb.dto.Query;
import software.amazon.awssdk.services.s3.S3Client;

import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.sinks.InfluxConnection;
import com.foxtrackr.fanout.sinks.Partner;
import com.foxtrackr.fanout.sinks.S3Archive;
import com.foxtrackr.fanout.source.MqttConnection;

/** The check command's probes: one real connection per source and sink, as the bundle would make it. */
public final class Probes {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private Probes() {
    }

    /**
     * Connects with the sources' URL, TLS trust and credentials, and subscribes to the source's topic filter,
     * under a client id of its own with a clean session: the source's persistent session is never touched.
     */
    public static String broker(MqttConnection connection, String clientId, String topic, int qos) throws Exception {
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

    /**
     * The probe of a sink of a type this bundle ships, made with the clients its template would build from the same
     * parameters; a sink of another type is tried only when it delivers.
     */
    public static Callable<String> sink(String sink, String type, Map<String, String> parameters) {
        return switch (type) {
            case "influxdb" -> () -> {
                InfluxConnection connection = new InfluxConnection();
                connection.setSink(sink);
                connection.setUrl(parameters.get("url"));
                connection.setVersion(parameters.get("version"));
                connection.setToken(parameters.get("token"));
                connection.setUsername(parameters.get("username"));
                connection.setPassword(parameters.get("password"));
                connection.setKinds(parameters.get("kinds"));
                connection.setTimeoutMs(Long.parseLong(parameters.get("timeout-ms")));
                InfluxDB influx = connection.build();
                try {
                    String version = influx.ping().getVersion();
                    String database = parameters.get("database");
                    boolean exists = influx.query(new Query("SHOW DATABASES")).getResults().get(0).getSeries().stream()
                            .flatMap(series -> series.getValues() == null ? java.util.stream.Stream.empty() : series.getValues().stream())
                            .anyMatch(row -> database.equals(row.get(0)));
                    if (!exists) {
                        throw new IllegalStateException("InfluxDB " + version + " at " + parameters.get("url") + " has no database " + database);
                    }
                    return "InfluxDB " + version + ", database " + database;
                } finally {
                    influx.close();
                }
            };
            case "s3" -> () -> {
                S3Archive connection = new S3Archive();
                connection.setSink(sink);
                connection.setRegion(parameters.get("region"));
                connection.setPathStyle(Boolean.parseBoolean(parameters.get("path-style")));
                connection.setEndpoint(parameters.get("endpoint"));
                connection.setAccessKeyId(parameters.get("access-key-id"));
                connection.setSecretAccessKey(parameters.get("secret-access-key"));
                try (S3Client s3 = connection.build()) {
                    s3.headBucket(b -> b.bucket(parameters.get("bucket")));
                    return "bucket " + parameters.get("bucket") + " is there";
                }
            };
            case "directory" -> () -> {
                Path directory = Path.of(parameters.get("directory"));
                Files.createDirectories(directory);
                Files.delete(Files.createTempFile(directory, ".check", ".tmp"));
                return "can write in " + directory.toAbsolutePath();
            };
            case "http", "http-batch" -> () -> partner(sink, parameters);
            default -> () -> "not checked: a Camel endpoint, tried only when it delivers";
        };
    }

    /**
     * A HEAD to the partner's URL with the sink's headers and token, as a call would be authorised; nothing is
     * posted. What it proved, or why it fails.
     */
    private static String partner(String sink, Map<String, String> parameters) throws Exception {
        Partner headers = new Partner();
        headers.setSink(sink);
        headers.setUrl(parameters.get("url"));
        headers.setHeaders(parameters.get("headers"));
        headers.setBearerToken(parameters.get("bearer-token"));
        headers.check();
        String url = parameters.get("url");
        String shown = org.apache.camel.util.URISupport.sanitizeUri(url);
        HttpHead head = new HttpHead(url);
        head.setConfig(RequestConfig.custom()
                .setConnectTimeout(Timeout.ofMilliseconds(Long.parseLong(parameters.get("connect-timeout-ms"))))
                .setResponseTimeout(Timeout.ofMilliseconds(Long.parseLong(parameters.get("response-timeout-ms")))).build());
        headers.headers().forEach(head::setHeader);
        int status;
        try (CloseableHttpClient client = HttpClients.createMinimal()) {
            status = client.execute(head, ClassicHttpResponse::getCode);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot reach " + shown + ": " + MessageValidator.reason(e), e);
        }
        String asked = "HEAD " + shown + " with the sink's headers" + (headers.headers().containsKey("Authorization") ? " and token" : "")
                + " answered " + status;
        if (status == 401 || status == 403) {
            throw new IllegalStateException(asked + ": the partner refuses the sink's credentials");
        }
        if (status >= 500) {
            throw new IllegalStateException(asked + ": the partner is failing");
        }
        return asked + ": reachable" + (status < 300 ? " and the credentials accepted" : ", the credentials not refused")
                + "; no message was posted, so whether it takes the payload is not proven";
    }
}
