package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A real InfluxDB 1.x server (influxd) on free loopback ports, with its data in a temporary folder. */
final class Influx implements AutoCloseable {
    final int port = Services.freePort();
    private final Path dir = Services.tempDir("influxd");
    private final HttpClient http = HttpClient.newHttpClient();
    private Process process;

    Influx() {
        try {
            Files.writeString(dir.resolve("influxdb.conf"), String.join("\n",
                    "reporting-disabled = true",
                    "bind-address = \"127.0.0.1:" + Services.freePort() + "\"",
                    "[meta]", "  dir = \"" + dir + "/meta\"",
                    "[data]", "  dir = \"" + dir + "/data\"", "  wal-dir = \"" + dir + "/wal\"", "  query-log-enabled = false",
                    "[monitor]", "  store-enabled = false",
                    "[http]", "  bind-address = \"127.0.0.1:" + port + "\"", "  log-enabled = false",
                    ""));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Influx start() {
        Path log = dir.resolve("influxd.log");
        process = Services.start(List.of(Services.binary("influxd", "influxdb"), "-config", dir.resolve("influxdb.conf").toString()),
                dir, log);
        Services.awaitListening(port, process, log);
        return this;
    }

    void stop() {
        Services.stop(process);
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    Influx createDatabase(String name) {
        query(null, "CREATE DATABASE \"" + name + "\"");
        return this;
    }

    /** The number of points of a measurement (counted on a field every point of it has). */
    long count(String database, String measurement, String field) {
        JsonNode series = query(database, "SELECT count(\"" + field + "\") FROM \"" + measurement + "\"").at("/results/0/series/0/values/0/1");
        return series.isMissingNode() ? 0 : series.asLong();
    }

    /** The distinct values of a tag in a measurement. */
    List<String> tagValues(String database, String measurement, String tag) {
        JsonNode values = query(database, "SHOW TAG VALUES FROM \"" + measurement + "\" WITH KEY = \"" + tag + "\"")
                .at("/results/0/series/0/values");
        List<String> result = new ArrayList<>();
        values.forEach(row -> result.add(row.get(1).asText()));
        return result;
    }

    JsonNode query(String database, String q) {
        String uri = url() + "/query?q=" + URLEncoder.encode(q, StandardCharsets.UTF_8)
                + (database == null ? "" : "&db=" + URLEncoder.encode(database, StandardCharsets.UTF_8));
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(uri))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("InfluxDB answered " + response.statusCode() + ": " + response.body());
            }
            return new ObjectMapper().readTree(response.body());
        } catch (IOException e) {
            throw new IllegalStateException("InfluxDB query failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** CPU time the server has used so far. */
    long cpuMs() {
        return Services.cpuMs(process.pid());
    }

    @Override
    public void close() {
        stop();
    }
}
