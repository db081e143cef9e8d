package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The backlog-drain benchmark (bin/bench): N messages queue in Mosquitto's persistent session while the
 * bundle is down; then the built jar drains them into InfluxDB, an S3 archive (S3Proxy) and a partner
 * (an HTTP server that counts). Beside it, a bare Paho subscriber drains the same backlog and does nothing:
 * the limit. At QoS 2 and 1, on the same machine, in the same run. It fails if a count is off.
 */
class DrainBenchmark {
    static final int N = Integer.getInteger("bench.messages", 100_000);
    /** Keys the outbox already remembers when the drain starts, as after days of traffic (the repeat window is 7 days). */
    static final long SEEN_KEYS = Long.getLong("bench.seen-keys", 0);
    static final Path RESULTS = Path.of("target", "bench-results.txt");
    /** How many messages the outbox has stored since it was made: its last message id, read without a count. */
    static final String MESSAGE_IDS_GIVEN = com.foxtrackr.fanout.outbox.SqliteSchema.LAST_MESSAGE_ID;
    /** -Dbench.outbox=postgresql: the outbox in a PostgreSQL the benchmark starts (fsync on, as in production). */
    static final boolean POSTGRESQL = "postgresql".equals(System.getProperty("bench.outbox", "sqlite"));
    /** -Dbench.instances=N (with the outbox in PostgreSQL): N instances with the same configuration share the drain. */
    static final int INSTANCES = Integer.getInteger("bench.instances", 1);
    /** -Dbench.partner-type=http-batch: the partner takes batches (500 messages a call) rather than a call per message. */
    static final String PARTNER_TYPE = System.getProperty("bench.partner-type", "http");

    /** What the drain watches in the outbox, in SQLite's file or in PostgreSQL. */
    interface OutboxWatch {
        long idsGiven() throws Exception;

        boolean empty(String sink) throws Exception;

        long sizeKb() throws Exception;

        /** The waiting messages' space (PostgreSQL's tables), when every message is stored. */
        default String footprint() throws Exception {
            return "";
        }

        /** The remembered keys' space, after the drain. */
        default String keysFootprint() throws Exception {
            return "";
        }
    }

    record Run(String what, int qos, double seconds, long peakRssKb, long outboxPeakKb, long outboxAfterKb, String stages, String cpu,
            Machine machine) {
        double rate() {
            return N / seconds;
        }
    }

    /**
     * The machine's CPU time during a drain, per process: the drainer itself, and the services it drains from
     * and into, which share the same cores.
     */
    record Machine(java.util.Map<String, Long> cpuMs) {
        static Machine of(Object... processAndMs) {
            java.util.Map<String, Long> cpu = new java.util.LinkedHashMap<>();
            for (int i = 0; i < processAndMs.length; i += 2) {
                cpu.put((String) processAndMs[i], (Long) processAndMs[i + 1]);
            }
            return new Machine(cpu);
        }

        /** Microseconds per message of every process but the drainer (the first). */
        double servicesMicros() {
            return cpuMs.values().stream().skip(1).mapToLong(Long::longValue).sum() * 1000.0 / N;
        }

        @Override
        public String toString() {
            StringBuilder line = new StringBuilder("machine CPU per message (microseconds):");
            cpuMs.forEach((process, ms) -> line.append(String.format(Locale.ROOT, " %s %.1f", process, ms * 1000.0 / N)));
            return line.toString();
        }
    }

    @Test
    void drain_a_backlog() throws Exception {
        List<Run> runs = new ArrayList<>();
        for (String level : System.getProperty("bench.qos", "2,1").split(",")) {
            int qos = Integer.parseInt(level.trim());
            if (Boolean.parseBoolean(System.getProperty("bench.bare", "true"))) {
                runs.add(bare(qos));
            }
            if (Boolean.parseBoolean(System.getProperty("bench.plain", "false"))) {
                runs.add(plain(qos));
            }
            runs.add(bundle(qos));
        }
        StringBuilder report = new StringBuilder(String.format(Locale.ROOT,
                "backlog of %,d messages, %d cores, %s%n%-8s %4s %10s %12s %10s %14s %14s%n", N,
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                "drain", "qos", "seconds", "messages/s", "peak RSS", "outbox peak", "outbox after"));
        for (Run run : runs) {
            report.append(String.format(Locale.ROOT, "%-8s %4d %10.1f %12.0f %9dM %13dM %13dM  %s%n", run.what(), run.qos(),
                    run.seconds(), run.rate(), run.peakRssKb() / 1024, run.outboxPeakKb() / 1024, run.outboxAfterKb() / 1024,
                    run.stages()));
            if (!run.cpu().isEmpty()) {
                report.append("         ").append(run.cpu()).append(System.lineSeparator());
            }
            report.append("         ").append(run.machine()).append(System.lineSeparator());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < runs.size(); i++) {
            Run bundle = runs.get(i);
            if (!bundle.what().startsWith("bundle")) {
                continue;
            }
            // its pair: the runs just before it at its QoS (-Dbench.qos=2,1,2,1 repeats the pairs, alternating)
            List<Run> before = runs.subList(0, i);
            Run bare = before.stream().filter(run -> run.what().equals("bare") && run.qos() == bundle.qos()).reduce((a, b) -> b).orElse(null);
            Run plain = before.stream().filter(run -> run.what().equals("plain") && run.qos() == bundle.qos()).reduce((a, b) -> b).orElse(null);
            if (bare != null) {
                // the services alone, on every core, with a bundle that cost nothing: no drain can beat this here
                double ceiling = cores * 1e6 / bundle.machine().servicesMicros();
                report.append(String.format(Locale.ROOT, "QoS %d: the bundle drains at %.2fx the bare subscriber's rate; "
                        + "the services the bundle feeds leave room for at most %.0f msg/s on %d cores (%.2fx the bare rate)%n",
                        bundle.qos(), bundle.rate() / bare.rate(), ceiling, cores, ceiling / bare.rate()));
            }
            if (plain != null) {
                report.append(String.format(Locale.ROOT, "QoS %d: the bundle drains at %.2fx the plain hand-written consumer's rate "
                        + "(which does less: nothing on disk, no archive, no repeat detection, no dead letters)%n",
                        bundle.qos(), bundle.rate() / plain.rate()));
            }
        }
        System.out.print(report);
        Files.writeString(RESULTS, report, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    /** A subscriber that only counts: connect once to create the session, publish while it is away, drain. */
    Run bare(int qos) throws Exception {
        try (Mosquitto broker = new Mosquitto().start()) {
            String clientId = "id-bare-0" + qos;
            MqttConnectOptions options = new MqttConnectOptions();
            options.setCleanSession(false);
            options.setMaxInflight(1000);
            MqttClient client = new MqttClient(broker.url(), clientId, new MemoryPersistence());
            client.connect(options);
            client.subscribe("foxtrackr/#", qos);
            client.disconnect();
            Publisher.backlog(broker, qos, 0, N);
            CountDownLatch all = new CountDownLatch(N);
            java.util.Set<String> distinct = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.function.Predicate<String> paho = name -> name.startsWith("MQTT") && name.endsWith(clientId);
            long brokerBefore = broker.cpuMs();
            long clientBefore = Services.threadCpuMs(paho);
            client.setCallback(new MqttCallback() {
                public void connectionLost(Throwable cause) {
                }

                public void messageArrived(String topic, MqttMessage message) {
                    distinct.add(new String(message.getPayload(), java.nio.charset.StandardCharsets.UTF_8));
                    all.countDown();
                }

                public void deliveryComplete(IMqttDeliveryToken token) {
                }
            });
            // Mosquitto 2.0 disconnects it once its packet ids are reused (over 65,535 queued at QoS 2)
            options.setAutomaticReconnect(true);
            long start = System.nanoTime();
            client.connect(options);
            if (!all.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the bare subscriber got " + (N - all.getCount()) + " of " + N + " messages in 10 minutes");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Machine machine = Machine.of("subscriber", Services.threadCpuMs(paho) - clientBefore, "broker", broker.cpuMs() - brokerBefore);
            client.disconnect();
            client.close();
            // it counts deliveries, repeats included: at QoS 2 over 65,535 it loses messages to reused ids and
            // gets others twice, which the bundle does not
            return new Run("bare", qos, seconds, 0, 0, 0, distinct.size() == N ? ""
                    : String.format(Locale.ROOT, "got %,d distinct of %,d: it lost %,d", distinct.size(), N, N - distinct.size()), "",
                    machine);
        }
    }

    /**
     * The plain hand-written consumer (PlainConsumer) in a JVM of its own, with the bundle's heap, into InfluxDB and
     * the partner: the clock stops when both have every message.
     */
    Run plain(int qos) throws Exception {
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr")) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            command.addAll(List.of("-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"),
                    PlainConsumer.class.getName(), broker.url(), "id-plain-0" + qos, String.valueOf(qos),
                    influx.url() + "/write?db=foxtrackr&precision=ms", partner.url()));
            Path log = Files.createTempFile("plain-consumer", ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            Process first = builder.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(log).contains("subscribed"));
            first.destroy();
            first.waitFor();
            Publisher.backlog(broker, qos, 0, N);
            long[] servicesBefore = {broker.cpuMs(), influx.cpuMs(), partner.cpuMs()};
            long start = System.nanoTime();
            Process consumer = builder.start();
            try {
                await().atMost(Duration.ofMinutes(40)).pollInterval(Duration.ofMillis(250)).until(() -> partner.requests.get() >= N
                        && influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value") >= N);
                double seconds = (System.nanoTime() - start) / 1e9;
                Machine machine = Machine.of("plain", Services.cpuMs(consumer.pid()), "broker", broker.cpuMs() - servicesBefore[0],
                        "influxdb", influx.cpuMs() - servicesBefore[1], "partner", partner.cpuMs() - servicesBefore[2]);
                long rss = peakRssKb(consumer.pid());
                assertEquals(N, influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value"),
                        "every point in InfluxDB, once");
                assertEquals(N, partner.taken.get(), "every message at the partner, once");
                return new Run("plain", qos, seconds, rss, 0, 0, String.format(Locale.ROOT, "partner connections: %d", partner.connections.get()),
                        "", machine);
            } finally {
                consumer.destroyForcibly().waitFor();
            }
        }
    }

    /** Keys of messages received in the hours before, written straight into the stopped bundle's outbox. */
    static void rememberKeys(Path outbox, long keys) throws java.sql.SQLException {
        if (keys == 0) {
            return;
        }
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + outbox);
             java.sql.Statement s = db.createStatement()) {
            // messages of the hours before, one a millisecond and each with its own key, in the order they came
            long first = System.currentTimeMillis() - 3_600_000 - keys;
            s.executeUpdate("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + keys + ") "
                    + "INSERT INTO seen (time_ms, key, seen_ms) SELECT " + first + " + i, randomblob(8), " + first + " + i FROM n");
        }
    }

    /** The built jar with InfluxDB, an S3 archive and a partner; the clock stops when every sink has every message. */
    Run bundle(int qos) throws Exception {
        try (CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             S3Proxy s3 = new S3Proxy().start().createBucket("archive");
             Postgres postgres = POSTGRESQL ? new Postgres().durable().start() : null) {
            if (INSTANCES > 1 && postgres == null) {
                throw new IllegalArgumentException("-Dbench.instances needs -Dbench.outbox=postgresql: instances share only that outbox");
            }
            List<Bundle> instances = new ArrayList<>();
            for (int i = 0; i < INSTANCES; i++) {
                instances.add(instance(qos, broker, influx, s3, partner, postgres));
            }
            Bundle bundle = instances.get(0);
            OutboxWatch outbox = postgres != null ? postgresWatch(postgres) : sqliteWatch(bundle);
            bundle.start();
            // the session's subscription, made once, before the backlog is published for it
            bundle.awaitLog("state=subscribed");
            bundle.stop();
            rememberKeys(bundle.outbox(), SEEN_KEYS);
            Publisher.backlog(broker, qos, 0, N);

            long[] servicesBefore = {broker.cpuMs(), influx.cpuMs(), s3.cpuMs(), partner.cpuMs(), postgres == null ? 0 : postgres.cpuMs()};
            // the outbox's message ids so far: counting what is stored would itself take CPU from the drain
            long idsBefore = outbox.idsGiven();
            long start = System.nanoTime();
            List<Long> pids = new ArrayList<>();
            for (Bundle instance : instances) {
                instance.launch();
                pids.add(instance.pid());
            }
            long[] outboxPeak = {0};
            String[] footprint = {""};
            java.util.Map<String, Double> doneAt = new java.util.TreeMap<>();
            await().atMost(Duration.ofMinutes(40)).pollInterval(Duration.ofMillis(250)).until(() -> {
                outboxPeak[0] = Math.max(outboxPeak[0], outbox.sizeKb());
                double now = (System.nanoTime() - start) / 1e9;
                boolean ingested = outbox.idsGiven() - idsBefore == N;
                if (ingested) {
                    if (doneAt.putIfAbsent("ingest", now) == null) {
                        footprint[0] = outbox.footprint();
                    }
                    for (String sink : List.of("influx", "archive", "partner")) {
                        if (outbox.empty(sink)) {
                            doneAt.putIfAbsent(sink, now);
                        }
                    }
                }
                return partner.taken.get() >= N && doneAt.size() == 4;
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            long rss = 0;
            long bundleCpuMs = 0;
            for (long pid : pids) {
                rss = Math.max(rss, peakRssKb(pid));
                bundleCpuMs += Services.cpuMs(pid);
            }
            String cpu = cpuPerMessage(pids);
            Machine machine = postgres == null
                    ? Machine.of("bundle", bundleCpuMs, "broker", broker.cpuMs() - servicesBefore[0],
                            "influxdb", influx.cpuMs() - servicesBefore[1], "s3", s3.cpuMs() - servicesBefore[2],
                            "partner", partner.cpuMs() - servicesBefore[3])
                    : Machine.of("bundle", bundleCpuMs, "broker", broker.cpuMs() - servicesBefore[0],
                            "influxdb", influx.cpuMs() - servicesBefore[1], "s3", s3.cpuMs() - servicesBefore[2],
                            "partner", partner.cpuMs() - servicesBefore[3], "postgresql", postgres.cpuMs() - servicesBefore[4]);
            if (postgres == null) {
                // maintenance leaves at most 2,048 free pages (8 MiB) in the file and gives back the rest
                await().atMost(Duration.ofMinutes(1)).until(() -> OutboxDb.count(bundle.outbox(), "PRAGMA freelist_count") <= 2048);
            }
            long after = outbox.sizeKb();
            for (Bundle instance : instances) {
                instance.stop();
            }

            assertEquals(N, influx.count("foxtrackr", "battery", "level") + influx.count("foxtrackr", "temperature", "value"),
                    "every point in InfluxDB, once");
            assertEquals(N, s3.payloads("archive").size(), "every payload in the archive, once");
            assertEquals(N, partner.taken.get(), "every message at the partner, once");
            StringBuilder stages = new StringBuilder();
            doneAt.forEach((stage, at) -> stages.append(String.format(Locale.ROOT, " %s %.1fs", stage, at)));
            stages.append(String.format(Locale.ROOT, "; partner %s: %,d calls, %d connections", PARTNER_TYPE, partner.requests.get(),
                    partner.connections.get()));
            if (SEEN_KEYS > 0) {
                stages.append(String.format(Locale.ROOT, "; keys remembered before: %,d", SEEN_KEYS));
            }
            if (postgres != null) {
                stages.append(String.format(Locale.ROOT, "; the outbox in PostgreSQL, %d instance%s; %s; %s", INSTANCES,
                        INSTANCES == 1 ? "" : "s", footprint[0], outbox.keysFootprint()));
            }
            return new Run((INSTANCES == 1 ? "bundle" : "bundle×" + INSTANCES) + ("http".equals(PARTNER_TYPE) ? "" : " " + PARTNER_TYPE), qos, seconds, rss, outboxPeak[0], after,
                    "done at:" + stages, cpu, machine);
        }
    }

    /** One instance of the bundle with the benchmark's three sinks (all alike: with PostgreSQL they share its outbox). */
    static Bundle instance(int qos, Mosquitto broker, Influx influx, S3Proxy s3, CountingPartner partner, Postgres postgres) {
        Bundle bundle = new Bundle(broker, influx)
                .with("FANOUT_MQTT_QOS", String.valueOf(qos))
                .with("FANOUT_SINKS", "influx,archive,partner")
                .with("FANOUT_SINK_INFLUX_LINGER_MS", "200")
                .withS3Sink("archive", s3, "archive")
                .with("FANOUT_SINK_ARCHIVE_MAX_AGE_MS", "1000")
                .withHttpSink("partner", partner.url())
                .with("FANOUT_SINK_PARTNER_TYPE", PARTNER_TYPE)
                .with("FANOUT_SINK_PARTNER_BATCH_SIZE", System.getProperty("bench.partner-batch-size", "500"))
                // the drained backlog's space goes back to the filesystem at the next maintenance
                .with("FANOUT_OUTBOX_MAINTENANCE_INTERVAL_MS", "5000")
                // for a profile of the bundle: -Dbench.bundle-jvm-options=-XX:StartFlightRecording=...
                .with("JAVA_TOOL_OPTIONS", System.getProperty("bench.bundle-jvm-options", "").replace("{qos}", String.valueOf(qos)))
                .withJvmOptions(Bundle.benchJvmOptions());
        if ("http".equals(PARTNER_TYPE)) {
            bundle.with("FANOUT_SINK_PARTNER_CONCURRENCY", System.getProperty("bench.partner-concurrency", "8"));
        }
        if (postgres != null) {
            bundle.withOutboxIn(postgres);
        }
        return bundle;
    }

    static OutboxWatch sqliteWatch(Bundle bundle) {
        return new OutboxWatch() {
            public long idsGiven() {
                return OutboxDb.count(bundle.outbox(), MESSAGE_IDS_GIVEN);
            }

            public boolean empty(String sink) {
                return OutboxDb.count(bundle.outbox(), "SELECT EXISTS (SELECT 1 FROM outstanding WHERE sink = '" + sink + "')") == 0;
            }

            public long sizeKb() throws Exception {
                return du(bundle.dataDir);
            }
        };
    }

    static OutboxWatch postgresWatch(Postgres postgres) {
        return new OutboxWatch() {
            public long idsGiven() throws Exception {
                return count("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM message_id_seq");
            }

            public boolean empty(String sink) throws Exception {
                return count("SELECT count(*) FROM (SELECT 1 FROM delivery WHERE sink = '" + sink + "' LIMIT 1) one") == 0;
            }

            public long sizeKb() throws Exception {
                return count("SELECT pg_database_size(current_database()) / 1024");
            }

            public String footprint() throws Exception {
                long messages = count("SELECT count(*) FROM message");
                long deliveries = count("SELECT count(*) FROM delivery");
                long messageBytes = count("SELECT pg_total_relation_size('message')");
                long deliveryBytes = count("SELECT pg_total_relation_size('delivery')");
                // the tables' space includes rows already deleted that PostgreSQL has not reused yet
                return String.format(Locale.ROOT, "once stored: %,d messages waiting in %,d kB (%,d B each), %,d deliveries in %,d kB (%,d B each)",
                        messages, messageBytes / 1024, messageBytes / Math.max(1, messages),
                        deliveries, deliveryBytes / 1024, deliveryBytes / Math.max(1, deliveries));
            }

            public String keysFootprint() throws Exception {
                long keys = count("SELECT count(*) FROM seen");
                long bytes = count("SELECT pg_total_relation_size('seen')");
                return String.format(Locale.ROOT, "%,d keys remembered in %,d kB (%,d B each)", keys, bytes / 1024, bytes / Math.max(1, keys));
            }

            private long count(String sql) throws Exception {
                try (java.sql.Connection db = postgres.connect(); java.sql.ResultSet rs = db.createStatement().executeQuery(sql)) {
                    return rs.next() ? rs.getLong(1) : 0;
                } catch (java.sql.SQLException e) {
                    // the bundle may not have made its tables yet; any other failure is the benchmark's
                    if ("42P01".equals(e.getSQLState())) {
                        return 0;
                    }
                    throw e;
                }
            }
        };
    }

    /**
     * Where the bundle's CPU went, per message, by thread (from the JVM's thread dump, which gives each thread's
     * CPU time): receive (Paho's threads: reading, parsing and checking in the ingest route), store (the outbox
     * writer: the group commit and the acknowledgements), each sink's threads, and the JVM's own (GC, JIT); of every
     * instance together when several share the drain.
     */
    static String cpuPerMessage(List<Long> pids) throws IOException, InterruptedException {
        List<String> lines = new ArrayList<>();
        for (long pid : pids) {
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), String.valueOf(pid),
                    "Thread.print").redirectErrorStream(true).start();
            lines.addAll(new String(jcmd.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines().toList());
            jcmd.waitFor();
        }
        java.util.Map<String, Double> ms = new java.util.LinkedHashMap<>();
        for (String step : List.of("receive", "store", "influx", "archive", "partner", "gc", "jit", "other")) {
            ms.put(step, 0.0);
        }
        java.util.regex.Pattern thread = java.util.regex.Pattern.compile("^\"([^\"]*)\".* cpu=([0-9.]+)ms");
        for (String line : lines) {
            java.util.regex.Matcher m = thread.matcher(line);
            if (!m.find()) {
                continue;
            }
            String name = m.group(1);
            String step = name.startsWith("MQTT Rec") || name.startsWith("MQTT Call") ? "receive"
                    : name.equals("outbox-writer") ? "store"
                    : name.contains("sink-influx") || name.contains("outbox://influx") ? "influx"
                    : name.contains("sink-archive") || name.contains("outbox://archive") ? "archive"
                    : name.contains("sink-partner") || name.contains("outbox://partner") ? "partner"
                    : name.startsWith("GC Thread") || name.startsWith("G1") ? "gc"
                    : name.contains("CompilerThread") ? "jit" : "other";
            ms.merge(step, Double.parseDouble(m.group(2)), Double::sum);
        }
        StringBuilder line = new StringBuilder("CPU per message (microseconds):");
        ms.forEach((step, total) -> line.append(String.format(Locale.ROOT, " %s %.1f", step, total * 1000 / N)));
        return line.toString();
    }

    static long peakRssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static long du(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().endsWith(".log"))
                    .mapToLong(f -> f.toFile().length()).sum() / 1024;
        }
    }
}
