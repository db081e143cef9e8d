package com.foxtrackr.fanout.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import com.foxtrackr.fanout.config.ConfigFolder;

/**
 * archive-classes: makes foxtrackr-fanout.jsa beside the jar, the JVM's class-data sharing archive of the classes a start
 * loads (parsed and verified once, mapped from the file at every start: about half a start's time and CPU). The JVM
 * (17) writes it when a run ends, so this runs the bundle once in a JVM of its own: the demo (embedded broker,
 * simulated fleet) with a sink of every shipped type, the configuration folder's routes and settings but its broker,
 * sources, sinks and outbox, without the FANOUT_* environment, in a temporary folder, for a few seconds. The archive
 * is valid for this jar only, named by its absolute path: it is made again after the jar changes.
 */
public final class ClassArchiveCommand {
    /** How long the run lasts: long enough for every sink's route to have started and tried a delivery. */
    static final int RUN_SECONDS = 6;

    private ClassArchiveCommand() {
    }

    /** The archive beside the jar: foxtrackr-fanout.jar -> foxtrackr-fanout.jsa. */
    public static Path archiveOf(Path jar) {
        String name = jar.getFileName().toString();
        return jar.resolveSibling((name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name) + ".jsa");
    }

    public static int run(PrintStream out, PrintStream err) throws Exception {
        Path jar;
        try {
            jar = Path.of(ClassArchiveCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
        } catch (Exception e) {
            err.println("ERROR archive-classes: cannot tell where the jar is (" + e.getMessage() + ")");
            return 2;
        }
        if (!Files.isRegularFile(jar)) {
            err.println("ERROR archive-classes: run it from the built jar (java -jar foxtrackr-fanout.jar archive-classes), not from " + jar);
            return 2;
        }
        Path archive = archiveOf(jar);
        Path work = Files.createTempDirectory("fanout-archive-classes");
        try {
            Path log = work.resolve("run.log");
            Files.writeString(work.resolve("application.properties"), properties(work));
            copy(ConfigFolder.resolve("routes"), work.resolve("routes"));
            List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:ArchiveClassesAtExit=" + archive, "-Xms256m", "-Xmx256m",
                    "-jar", jar.toString(), "--config-dir", work.toString());
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().keySet().removeIf(variable -> variable.startsWith("FANOUT_") || variable.equals("JAVA_TOOL_OPTIONS"));
            // the s3 sink's credentials come from the environment alone; nothing is sent with them (no server answers)
            builder.environment().put("FANOUT_SINK_S3_ACCESS_KEY_ID", "archive-classes");
            builder.environment().put("FANOUT_SINK_S3_SECRET_ACCESS_KEY", "archive-classes");
            Files.deleteIfExists(archive);
            int exit = builder.start().waitFor();
            if (exit != 0 || !Files.isRegularFile(archive)) {
                List<String> lines = Files.readAllLines(log);
                err.println("ERROR archive-classes: the run that makes " + archive + " ended with " + exit + "; its last lines:");
                lines.subList(Math.max(0, lines.size() - 20), lines.size()).forEach(line -> err.println("  " + line));
                return 1;
            }
            out.println("made " + archive + " (" + Files.size(archive) / (1024 * 1024) + " MB): run with -XX:SharedArchiveFile=" + archive);
            return 0;
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
            }
        }
    }

    /**
     * The configuration folder's settings but its own (OWN), and the demo with a sink of each
     * shipped type: InfluxDB, S3 and a partner at ports where nothing listens (their clients load and fail), an
     * archive in a directory that takes every message.
     */
    static String properties(Path work) throws IOException {
        StringBuilder properties = new StringBuilder();
        for (String line : Files.readAllLines(ConfigFolder.properties())) {
            String key = line.strip();
            if (OWN.stream().noneMatch(key::startsWith)) {
                properties.append(line).append('\n');
            }
        }
        String closed = "http://127.0.0.1:" + freePort();
        properties.append("""
                camel.main.duration-max-seconds=%d
                fanout.data-dir=%s
                fanout.http.host=127.0.0.1
                fanout.http.port=%d
                fanout.demo.broker-port=%d
                fanout.demo.interval-ms=500
                fanout.sources=fleet
                fanout.source.fleet.client-id=id-demo-01
                fanout.source.fleet.topic=foxtrackr/#
                fanout.sinks=influx,local,s3,partner,batches
                fanout.sink.influx.type=influxdb
                fanout.sink.influx.url=%s
                fanout.sink.influx.linger-ms=100
                fanout.sink.local.type=directory
                fanout.sink.local.directory=%s
                fanout.sink.local.max-age-ms=500
                fanout.sink.local.linger-ms=100
                fanout.sink.s3.type=s3
                fanout.sink.s3.bucket=archive-classes
                fanout.sink.s3.endpoint=%s
                fanout.sink.s3.path-style=true
                fanout.sink.s3.max-age-ms=500
                fanout.sink.s3.linger-ms=100
                fanout.sink.partner.type=http
                fanout.sink.partner.url=%s/telemetry
                fanout.sink.batches.type=http-batch
                fanout.sink.batches.url=%s/batches
                fanout.sink.batches.max-age-ms=500
                fanout.sink.batches.linger-ms=100
                """.formatted(RUN_SECONDS, work.resolve("data"), freePort(), freePort(), closed, work.resolve("archive"), closed, closed, closed));
        return properties.toString();
    }

    static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, to.resolve(from.relativize(file).toString()));
            }
        }
    }

    /** What the run sets itself, of the folder's properties: the broker, sources, sinks, outbox, data and HTTP server. */
    static final List<String> OWN = List.of("fanout.mqtt.url", "fanout.mqtt.username", "fanout.mqtt.password", "fanout.mqtt.tls.",
            "fanout.sources", "fanout.source.", "fanout.sinks", "fanout.sink.", "fanout.outbox.url", "fanout.outbox.user",
            "fanout.outbox.password", "fanout.data-dir", "fanout.http.", "fanout.demo.");

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
