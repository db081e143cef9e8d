package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The steady-load benchmark (bin/bench): 1,000 messages a second for 60 s at QoS 2 into the built jar with
 * InfluxDB, an S3 archive and a partner. Each message's timeMs is the moment it is published, so the
 * bundle's end-to-end lag histogram (fanout_end_to_end_lag_seconds, measured when InfluxDB has acknowledged
 * the write) gives the publish-to-visible latency; and how long after the last publish every sink is current.
 */
class SteadyLoadBenchmark {
    static final int RATE = Integer.getInteger("bench.steady-rate", 1000);
    static final int SECONDS = Integer.getInteger("bench.steady-seconds", 60);

    @Test
    void hold_a_steady_load() throws Exception {
        int n = RATE * SECONDS;
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             S3Proxy s3 = new S3Proxy().start().createBucket("archive");
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "influx,archive,partner")
                     .with("FANOUT_SINK_INFLUX_LINGER_MS", "100")
                     .withS3Sink("archive", s3, "archive")
                     // an archive object at most about 1.2 s after its first payload arrived
                     .with("FANOUT_SINK_ARCHIVE_MAX_AGE_MS", "1000")
                     .with("FANOUT_SINK_ARCHIVE_LINGER_MS", "200")
                     .withHttpSink("partner", partner.url())
                     .with("FANOUT_SINK_PARTNER_LINGER_MS", "50")
                     .start()) {
            // mosquitto_pub publishes each line as it comes: the pace is the pace of the lines
            Process publisher = new ProcessBuilder(Services.binary("mosquitto_pub", "mosquitto-clients"), "-h", "127.0.0.1",
                    "-p", String.valueOf(broker.port), "-q", "2", "-t", "foxtrackr/grp/V3.0/bat", "-l")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long start = System.nanoTime();
            try (var lines = new java.io.BufferedWriter(new java.io.OutputStreamWriter(publisher.getOutputStream(), StandardCharsets.UTF_8))) {
                for (int i = 0; i < n; i++) {
                    long due = start + (long) (i * 1e9 / RATE);
                    while (System.nanoTime() < due) {
                        LockSupport.parkNanos(due - System.nanoTime());
                    }
                    lines.write(Messages.battery("dev-" + (i % 1000), System.currentTimeMillis(), i % 100));
                    lines.write('\n');
                    lines.flush();
                }
            }
            if (publisher.waitFor() != 0) {
                throw new IllegalStateException("mosquitto_pub failed");
            }
            long end = System.nanoTime();
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(100)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == n
                            && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0 && partner.requests.get() >= n);
            double currentAfter = (System.nanoTime() - end) / 1e9;
            double achieved = n / ((end - start) / 1e9);
            double p99 = quantile(bundle.http("GET", "/observe/metrics"), "influx", 0.99);
            double p50 = quantile(bundle.http("GET", "/observe/metrics"), "influx", 0.50);
            assertEquals(n, influx.count("foxtrackr", "battery", "level"), "every point in InfluxDB, once");
            assertEquals(n, s3.payloads("archive").size(), "every payload in the archive, once");
            assertEquals(n, partner.requests.get(), "every message at the partner, once");
            String report = String.format(Locale.ROOT, "steady load: %,d msg/s for %d s (published at %.0f msg/s), QoS 2, three sinks%n"
                    + "  publish-to-InfluxDB latency: median <= %.3f s, 99th percentile <= %.3f s (target 1 s: %s)%n"
                    + "  every sink current %.1f s after the last publish (target 2 s: %s)%n",
                    RATE, SECONDS, achieved, p50, p99, p99 <= 1 ? "met" : "MISSED", currentAfter, currentAfter <= 2 ? "met" : "MISSED");
            System.out.print(report);
            Files.writeString(DrainBenchmark.RESULTS, report, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /** The upper bound of the histogram bucket that holds the given quantile of a sink's end-to-end lag. */
    static double quantile(String metrics, String sink, double q) {
        double count = 0;
        java.util.List<double[]> buckets = new java.util.ArrayList<>();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("fanout_end_to_end_lag_seconds_bucket{") && line.contains("sink=\"" + sink + "\"")) {
                int from = line.indexOf("le=\"") + 4;
                String le = line.substring(from, line.indexOf('"', from));
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                buckets.add(new double[] {le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le), value});
                count = Math.max(count, value);
            }
        }
        buckets.sort((a, b) -> Double.compare(a[0], b[0]));
        for (double[] bucket : buckets) {
            if (bucket[1] >= q * count) {
                return bucket[0];
            }
        }
        return Double.NaN;
    }
}
