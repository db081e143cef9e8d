package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The S3 archive (against S3Proxy) and the directory archive: every raw payload exactly once. */
class ArchiveIT {
    static final String KEY = "foxtrackr/raw/\\d{4}/\\d{2}/\\d{2}/\\d{2}/%s-\\d+\\.ndjson\\.gz";
    Mosquitto broker;
    Influx influx;
    S3Proxy s3;
    Path directory;

    @BeforeEach
    void startServices() throws Exception {
        broker = new Mosquitto().start();
        influx = new Influx().start().createDatabase("foxtrackr");
        s3 = new S3Proxy().start().createBucket("fleet-archive");
        directory = Files.createTempDirectory("archive");
    }

    @AfterEach
    void stopServices() {
        s3.close();
        broker.close();
        influx.close();
    }

    Bundle bundle() {
        return new Bundle(broker, influx)
                .withArchives(s3, directory)
                .with("FANOUT_SINKS", "influx,s3,local")
                .with("FANOUT_SINK_S3_BATCH_SIZE", "150")
                .with("FANOUT_SINK_LOCAL_BATCH_SIZE", "150");
    }

    // Every kind, hostile device ids included, over several hours; the bundle is killed once in the middle.
    // Both archives end with every payload exactly once, byte for byte, under keys of the fixed layout, payloads
    // with line breaks (pretty-printed, a trailing newline, CRLF) among them; nothing is dead-lettered.
    @Test
    void should_archive_every_payload_exactly_once_across_a_kill() throws Exception {
        List<String> published = new ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            String device = i % 100 == 0 ? "../../etc/passwd" : i % 100 == 1 ? "a/b\u00e9 ,=x" : "dev-" + (i % 40);
            long time = Messages.T0 + i * 60_000L;
            published.add(i % 3 == 0 ? Messages.position(device, time) : i % 3 == 1 ? Messages.battery(device, time, i % 100)
                    : Messages.temperature(device, time, 20.5));
        }
        published.add(Messages.battery("dev-ml", Messages.T0, 5).replace(",\"version\"", ",\n  \"version\""));
        published.add(Messages.battery("dev-nl", Messages.T0 + 1, 5) + "\n");
        published.add(Messages.battery("dev-crlf", Messages.T0 + 2, 5).replace(",", ",\r\n") + "\r\n");
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            CompletableFuture<Void> publishing = publisher.publishInBackground("foxtrackr/grp-a/V3.0/x", published);
            await().atMost(Duration.ofSeconds(60)).until(() -> s3.keys("fleet-archive").size() >= 2);
            bundle.kill();
            publishing.get();
            bundle.start();
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE state = 'pending'") == 0);
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"));
        }
        assertExactlyOnce(published, s3.payloads("fleet-archive"), "S3");
        for (String key : s3.keys("fleet-archive")) {
            assertTrue(key.matches(String.format(KEY, "s3")), key);
        }
        List<byte[]> local = new ArrayList<>();
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertTrue(directory.relativize(file).toString().matches(String.format(KEY, "local")), file.toString());
                local.addAll(S3Proxy.payloads(Files.readAllBytes(file)));
            }
        }
        assertExactlyOnce(published, local, "directory");
        assertExactlyOnce(published, readBackAsTheReadmeSays(directory), "the README's read-back command");
        assertEquals(published.stream().filter(p -> p.contains("\"battery\"")).count(), influx.count("foxtrackr", "battery", "level"));
    }

    /** The README's one-line command, run as written on each archive file: one file per payload, named by its key. */
    static List<byte[]> readBackAsTheReadmeSays(Path directory) throws Exception {
        String command = "zcat OBJECT | jq -r '.key + \" \" + .payload' | while read -r key payload; do printf %s \"$payload\" | base64 -d > \"$key\"; done";
        assertTrue(Files.readString(Path.of("README.md")).contains(command), "the README shows: " + command);
        List<byte[]> payloads = new ArrayList<>();
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Path out = Files.createTempDirectory("read-back");
                Process bash = new ProcessBuilder("bash", "-c", command.replace("OBJECT", "'" + file + "'"))
                        .directory(out.toFile()).redirectErrorStream(true).start();
                String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, bash.waitFor(), output);
                try (Stream<Path> restored = Files.list(out)) {
                    for (Path payload : restored.toList()) {
                        payloads.add(Files.readAllBytes(payload));
                    }
                }
            }
        }
        return payloads;
    }

    static void assertExactlyOnce(List<String> expected, List<byte[]> archived, String where) {
        Map<String, Integer> counts = new HashMap<>();
        for (byte[] payload : archived) {
            counts.merge(new String(payload, StandardCharsets.UTF_8), 1, Integer::sum);
        }
        for (String payload : expected) {
            assertEquals(1, counts.getOrDefault(payload, 0), where + " holds it once: " + payload);
        }
        assertEquals(expected.size(), archived.size(), where + " holds nothing else");
    }
}
