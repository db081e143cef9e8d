package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A new sink type is one YAML file in routes/: its template, on the outbox component; no Java, no rebuild. */
class SinkTypeIT extends WithBrokerAndInflux {
    static final String TYPE = """
            # Sink type "keyed-files": each message's payload in a file of its own, named by the message's key
            - routeTemplate:
                id: sink-keyed-files
                parameters:
                  - name: name
                    description: the sink's name, from fanout.sinks
                  - name: directory
                    description: where the files go
                from:
                  uri: "outbox:{{name}}"
                  parameters:
                    delivery: message
                    concurrency: 2
                    lingerMs: 50
                    retryInitialDelayMs: 100
                    retryMaxDelayMs: 500
                  steps:
                    - to: "file:{{directory}}?fileName=${header.Idempotency-Key}.json"
            """;

    // The type's folder cannot be written at first (a file stands where it should be): the messages are
    // retried, and once the file is gone each payload is written exactly once, byte for byte.
    @Test
    void should_deliver_through_a_sink_type_added_as_a_yaml_file() throws Exception {
        Path home = RouteEditIT.copyOfProject();
        Files.writeString(home.resolve("routes/sink-keyed-files.yaml"), TYPE);
        Path directory = Services.tempDir("keyed-files").resolve("out");
        Files.writeString(directory, "in the way");
        List<String> payloads = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            payloads.add(i % 2 == 0 ? Messages.battery("dev-" + i, Messages.T0 + i, i) : Messages.temperature("dev-" + i, Messages.T0 + i, i));
        }
        Bundle configured = new Bundle(home, broker, influx)
                .with("FANOUT_SINKS", "influx,files")
                .with("FANOUT_SINK_FILES_TYPE", "keyed-files")
                .with("FANOUT_SINK_FILES_DIRECTORY", directory.toString());
        try (Bundle bundle = configured.start(); Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < payloads.size(); i++) {
                publisher.publish(i % 2 == 0 ? "foxtrackr/grp-a/V3.0/bat" : "foxtrackr/grp-a/V3.0/temp", payloads.get(i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("sink=files state=retrying"));
            Files.delete(directory);
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.isDirectory(directory) && count(directory) == 20
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            Set<String> written = new HashSet<>();
            try (Stream<Path> files = Files.list(directory)) {
                for (Path file : files.toList()) {
                    written.add(Files.readString(file, StandardCharsets.UTF_8));
                }
            }
            assertEquals(new HashSet<>(payloads), written);
            assertEquals(20, influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value"));
        }
    }

    private static long count(Path directory) throws java.io.IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).count();
        }
    }
}
