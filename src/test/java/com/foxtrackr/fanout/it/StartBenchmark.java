package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The start benchmark (bin/bench start): how long a restart holds up the feed. The built jar with InfluxDB, an S3
 * archive and a partner is restarted with messages waiting in its session, as after a route edit: from the process's
 * start to the first message stored in the outbox, and the CPU time the process has used by then. Five starts with
 * the run command (the class archive the package step makes) and five with the same command without it, and five
 * of another build given as -Dbench.start-before=JAR (the version before a change, run as it was: with the JVM options
 * of -Dbench.start-before-options, by default the run command before the class archive), alternating; the medians go to target/bench-results.txt. It fails if a count is off at the end.
 */
class StartBenchmark {
    static final int STARTS = Integer.getInteger("bench.starts", 5);
    /** Messages waiting at each start. */
    static final int WAITING = 100;

    record Start(double seconds, long cpuMs) {
    }

    record Variant(java.nio.file.Path jar, List<String> jvmOptions) {
    }

    @Test
    void restart_with_messages_waiting() throws Exception {
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             S3Proxy s3 = new S3Proxy().start().createBucket("archive")) {
            Bundle bundle = DrainBenchmark.instance(1, broker, influx, s3, partner, null);
            // the session's subscription, and a first start that warms the machine's file cache
            bundle.start();
            bundle.awaitLog("state=subscribed");
            bundle.stop();
            Map<String, Variant> variants = new LinkedHashMap<>();
            variants.put("the run command (class archive)", new Variant(Bundle.JAR, Bundle.JVM_OPTIONS));
            variants.put("without the class archive", new Variant(Bundle.JAR, Bundle.RUN_OPTIONS));
            String before = System.getProperty("bench.start-before", "");
            if (!before.isBlank()) {
                variants.put("the version before", new Variant(java.nio.file.Path.of(before).toAbsolutePath(),
                        List.of(System.getProperty("bench.start-before-options", "-Xms256m -Xmx256m -XX:+AlwaysPreTouch").split(" "))));
            }
            Map<String, List<Start>> starts = new LinkedHashMap<>();
            int published = 0;
            for (int i = 0; i < STARTS; i++) {
                for (Map.Entry<String, Variant> variant : variants.entrySet()) {
                    Publisher.backlog(broker, 1, published, published + WAITING);
                    published += WAITING;
                    long storedBefore = storedSoFar(bundle);
                    bundle.withJar(variant.getValue().jar()).withJvmOptions(variant.getValue().jvmOptions());
                    long launched = System.nanoTime();
                    bundle.launch();
                    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                            .until(() -> storedSoFar(bundle) > storedBefore);
                    double seconds = (System.nanoTime() - launched) / 1e9;
                    long cpuMs = Services.cpuMs(bundle.pid());
                    starts.computeIfAbsent(variant.getKey(), key -> new ArrayList<>()).add(new Start(seconds, cpuMs));
                    bundle.awaitLog("look at: ");
                    bundle.stop();
                }
            }
            // every message waited for, delivered once to each sink
            int total = published;
            bundle.withJar(Bundle.JAR).withJvmOptions(Bundle.JVM_OPTIONS).start();
            await().atMost(Duration.ofMinutes(2)).until(() -> partner.requests.get() >= total && s3.payloads("archive").size() >= total
                    && influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value") >= total);
            bundle.stop();
            assertEquals(total, partner.requests.get(), "every message at the partner, once");
            assertEquals(total, s3.payloads("archive").size(), "every payload in the archive, once");
            assertEquals(total, influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value"),
                    "every point in InfluxDB, once");

            StringBuilder report = new StringBuilder(String.format(Locale.ROOT,
                    "start with %d messages waiting, %d cores: process start to the first message stored, and the CPU used by then%n",
                    WAITING, Runtime.getRuntime().availableProcessors()));
            starts.forEach((variant, list) -> report.append(String.format(Locale.ROOT, "%-34s median %.2f s, CPU %.2f s;  each: %s%n",
                    variant, median(list.stream().map(Start::seconds).toList()), median(list.stream().map(s -> s.cpuMs() / 1000.0).toList()),
                    String.join(", ", list.stream().map(s -> String.format(Locale.ROOT, "%.2f s (CPU %.2f s)", s.seconds(), s.cpuMs() / 1000.0)).toList()))));
            System.out.print(report);
            Files.writeString(DrainBenchmark.RESULTS, report, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
    }

    static long storedSoFar(Bundle bundle) {
        return Files.exists(bundle.outbox()) ? OutboxDb.count(bundle.outbox(), DrainBenchmark.MESSAGE_IDS_GIVEN) : 0;
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
