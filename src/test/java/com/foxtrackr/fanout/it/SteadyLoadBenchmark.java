package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
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
    /** The first seconds of load, when the just-started bundle's code is still being compiled: reported apart too. */
    static final int WARM_UP_SECONDS = Integer.getInteger("bench.steady-warm-up-seconds", 10);

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
                     .with("JAVA_TOOL_OPTIONS", "-Xlog:gc:file=" + GC_LOG)
                     .withJvmOptions(Bundle.benchJvmOptions())
                     .start()) {
            partner.recordArrivals = true;
            // each process's CPU every 250 ms: what else ran when messages were late
            java.util.List<long[]> cpu = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.ScheduledExecutorService sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
            sampler.scheduleAtFixedRate(() -> cpu.add(new long[] {System.currentTimeMillis(), Services.cpuMs(bundle.pid()), broker.cpuMs(),
                    influx.cpuMs(), s3.cpuMs(), partner.cpuMs(), Services.cpuMs(ProcessHandle.current().pid())}), 0, 250, TimeUnit.MILLISECONDS);
            // mosquitto_pub publishes each line as it comes: the pace is the pace of the lines
            Process publisher = new ProcessBuilder(Services.binary("mosquitto_pub", "mosquitto-clients"), "-h", "127.0.0.1",
                    "-p", String.valueOf(broker.port), "-q", "2", "-t", "foxtrackr/grp/V3.0/bat", "-l")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long start = System.nanoTime();
            String afterWarmUp = "";
            try (var lines = new java.io.BufferedWriter(new java.io.OutputStreamWriter(publisher.getOutputStream(), StandardCharsets.UTF_8))) {
                for (int i = 0; i < n; i++) {
                    long due = start + (long) (i * 1e9 / RATE);
                    while (System.nanoTime() < due) {
                        LockSupport.parkNanos(due - System.nanoTime());
                    }
                    if (i == WARM_UP_SECONDS * RATE) {
                        afterWarmUp = bundle.http("GET", "/observe/metrics");
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
            sampler.shutdownNow();
            double achieved = n / ((end - start) / 1e9);
            double p99 = quantile(bundle.http("GET", "/observe/metrics"), "influx", 0.99);
            double p50 = quantile(bundle.http("GET", "/observe/metrics"), "influx", 0.50);
            String metrics = bundle.http("GET", "/observe/metrics");
            StringBuilder sinks = new StringBuilder();
            StringBuilder steady = new StringBuilder();
            for (String sink : java.util.List.of("influx", "archive", "partner")) {
                sinks.append(String.format(Locale.ROOT, " %s %.3f / %.3f / %.3f s;", sink, quantile(metrics, sink, 0.5),
                        quantile(metrics, sink, 0.9), quantile(metrics, sink, 0.99)));
                java.util.List<double[]> since = since(buckets(metrics, sink), buckets(afterWarmUp, sink));
                steady.append(String.format(Locale.ROOT, " %s %.3f / %.3f / %.3f s;", sink, quantile(since, 0.5),
                        quantile(since, 0.9), quantile(since, 0.99)));
            }
            assertEquals(n, influx.count("foxtrackr", "battery", "level"), "every point in InfluxDB, once");
            assertEquals(n, s3.payloads("archive").size(), "every payload in the archive, once");
            assertEquals(n, partner.requests.get(), "every message at the partner, once");
            String report = String.format(Locale.ROOT, "steady load: %,d msg/s for %d s (published at %.0f msg/s), QoS 2, three sinks%n"
                    + "  publish-to-InfluxDB latency: median <= %.3f s, 99th percentile <= %.3f s (target 1 s: %s)%n"
                    + "  every sink current %.1f s after the last publish (target 2 s: %s)%n"
                    + "  publish to delivered, median / 90th / 99th percentile:%s the bundle's longest GC pause %.1f ms%n"
                    + "  the same for what was delivered after the first %d s (the start's warm-up):%s%n",
                    RATE, SECONDS, achieved, p50, p99, p99 <= 1 ? "met" : "MISSED", currentAfter, currentAfter <= 2 ? "met" : "MISSED",
                    sinks, longestGcPauseMs(), WARM_UP_SECONDS, steady);
            report += lateSeconds(partner.arrivals, cpu);
            System.out.print(report);
            Files.writeString(DrainBenchmark.RESULTS, report, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /**
     * The seconds (by publish time) whose messages reached the partner latest, with each process's CPU (in % of one
     * core) from the second before to the second after: where the tail comes from.
     */
    static String lateSeconds(java.util.Collection<long[]> arrivals, java.util.List<long[]> cpu) {
        java.util.TreeMap<Long, long[]> bySecond = new java.util.TreeMap<>(); // second -> {messages, later than 0.5 s, the latest ms}
        long first = arrivals.stream().mapToLong(a -> a[0]).min().orElse(0) / 1000;
        for (long[] arrival : arrivals) {
            long[] second = bySecond.computeIfAbsent(arrival[0] / 1000 - first, k -> new long[3]);
            long latency = arrival[1] - arrival[0];
            second[0]++;
            second[1] += latency > 500 ? 1 : 0;
            second[2] = Math.max(second[2], latency);
        }
        long late = bySecond.values().stream().mapToLong(s -> s[1]).sum();
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "  partner: %,d of %,d messages later than 0.5 s;", late, arrivals.size()));
        bySecond.entrySet().stream().filter(e -> e.getValue()[2] > 500)
                .sorted((a, b) -> Long.compare(b.getValue()[2], a.getValue()[2])).limit(3).forEach(e -> {
                    long second = e.getKey();
                    out.append(String.format(Locale.ROOT, "%n    second %d: %d late, the latest %.2f s; CPU %% of a core from second %d to %d:",
                            second, e.getValue()[1], e.getValue()[2] / 1000.0, second - 1, second + 2));
                    long from = (first + second - 1) * 1000;
                    long to = (first + second + 2) * 1000;
                    long[] a = cpu.stream().filter(c -> c[0] >= from).findFirst().orElse(null);
                    long[] b = cpu.stream().filter(c -> c[0] <= to).reduce((x, y) -> y).orElse(null);
                    if (a != null && b != null && b[0] > a[0]) {
                        String[] names = {"bundle", "broker", "influxdb", "s3", "partner", "the test JVM (publisher and partner)"};
                        for (int i = 0; i < names.length; i++) {
                            out.append(String.format(Locale.ROOT, " %s %.0f", names[i], (b[i + 1] - a[i + 1]) * 100.0 / (b[0] - a[0])));
                        }
                    }
                });
        return out.append(System.lineSeparator()).toString();
    }

    static final java.nio.file.Path GC_LOG = Services.tempDir("fanout-gc").resolve("gc.log");

    /** The longest pause in the bundle's GC log (-Xlog:gc: "Pause Young (Normal) (G1 Evacuation Pause) 60M->20M(256M) 3.123ms"). */
    static double longestGcPauseMs() throws java.io.IOException {
        double longest = 0;
        for (String line : Files.readAllLines(GC_LOG)) {
            java.util.regex.Matcher pause = java.util.regex.Pattern.compile("Pause .* ([0-9.]+)ms$").matcher(line);
            if (pause.find()) {
                longest = Math.max(longest, Double.parseDouble(pause.group(1)));
            }
        }
        return longest;
    }

    /** The upper bound of the histogram bucket that holds the given quantile of a sink's end-to-end lag. */
    static double quantile(String metrics, String sink, double q) {
        return quantile(buckets(metrics, sink), q);
    }

    /** A sink's lag histogram: {upper bound, cumulative count}, by bound. */
    static java.util.List<double[]> buckets(String metrics, String sink) {
        java.util.List<double[]> buckets = new java.util.ArrayList<>();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("fanout_end_to_end_lag_seconds_bucket{") && line.contains("sink=\"" + sink + "\"")) {
                int from = line.indexOf("le=\"") + 4;
                String le = line.substring(from, line.indexOf('"', from));
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                buckets.add(new double[] {le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le), value});
            }
        }
        buckets.sort((a, b) -> Double.compare(a[0], b[0]));
        return buckets;
    }

    /** What a histogram counted since an earlier reading of it. */
    static java.util.List<double[]> since(java.util.List<double[]> now, java.util.List<double[]> before) {
        java.util.Map<Double, Double> earlier = new java.util.HashMap<>();
        before.forEach(bucket -> earlier.put(bucket[0], bucket[1]));
        return now.stream().map(bucket -> new double[] {bucket[0], bucket[1] - earlier.getOrDefault(bucket[0], 0.0)}).toList();
    }

    static double quantile(java.util.List<double[]> buckets, double q) {
        double count = buckets.stream().mapToDouble(bucket -> bucket[1]).max().orElse(0);
        for (double[] bucket : buckets) {
            if (bucket[1] >= q * count) {
                return bucket[0];
            }
        }
        return Double.NaN;
    }
}
