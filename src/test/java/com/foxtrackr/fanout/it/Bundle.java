package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.awaitility.Awaitility.await;

/** The built jar run as users run it: java -jar from a folder with application.properties and routes/. */
final class Bundle implements AutoCloseable {
    static final Path JAR = Path.of(System.getProperty("fanout.jar", "target/foxtrackr-fanout.jar")).toAbsolutePath();
    static final Path HOME = Path.of(System.getProperty("fanout.home", ".")).toAbsolutePath();
    /** A fixed heap of 256 MB, taken at start, and the JIT compiling what stays hot rather than what a start touches. */
    static final List<String> RUN_OPTIONS = List.of("-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-XX:CompileThresholdScaling=4");
    /** The README's run command: those, and the classes a start loads from the archive the package step makes. */
    static final List<String> JVM_OPTIONS = withClassArchive(RUN_OPTIONS, com.foxtrackr.fanout.cli.ClassArchiveCommand.archiveOf(JAR));

    /** HTTP/1.1 as Prometheus and curl speak it: the JDK's default upgrade to HTTP/2 sometimes gets no answer from Vert.x. */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    final Path dataDir;
    final Map<String, String> env = new HashMap<>();
    private List<String> arguments = List.of();
    private List<String> jvmOptions = JVM_OPTIONS;
    private Path jar = JAR;
    final int httpPort = Services.freePort();
    private final Path workDir;
    /** Whether the FANOUT_* variables of the tests' own environment reach the bundle. */
    private final boolean inheritsConfiguration;
    private Path log;
    private Process process;
    private int starts;

    /** Runs from the project's root, configured by environment variables over its application.properties. */
    Bundle(Mosquitto broker, Influx influx) {
        this(HOME, broker, influx);
    }

    Bundle(Path workDir, Mosquitto broker, Influx influx) {
        this.workDir = workDir;
        this.dataDir = Services.tempDir("fanout-data");
        this.inheritsConfiguration = true;
        env.put("FANOUT_DATA_DIR", dataDir.toString());
        env.put("FANOUT_HTTP_PORT", String.valueOf(httpPort));
        env.put("FANOUT_MQTT_URL", broker.url());
        env.put("FANOUT_SOURCE_FLEET_CLIENT_ID", "id-test-01");
        env.put("FANOUT_SINK_INFLUX_URL", influx.url());
        env.put("FANOUT_SINK_INFLUX_DATABASE", "foxtrackr");
        env.put("FANOUT_SINK_INFLUX_LINGER_MS", "50");
        env.put("FANOUT_SINK_INFLUX_RETRY_INITIAL_DELAY_MS", "200");
        env.put("FANOUT_SINK_INFLUX_RETRY_MAX_DELAY_MS", "1000");
    }

    /**
     * A first run: nothing configured but the HTTP port (8080 may be taken), from a folder of its own; the data
     * directory is the default, data/ in that folder.
     */
    static Bundle unconfigured(Path workDir) {
        return new Bundle(workDir);
    }

    private Bundle(Path workDir) {
        this.workDir = workDir;
        this.dataDir = workDir.resolve("data");
        this.inheritsConfiguration = false;
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        env.put("FANOUT_HTTP_PORT", String.valueOf(httpPort));
    }

    /** A benchmark's -Dbench.jvm-options="...": the bundle's JVM options instead of the run command's (the class archive stays). */
    static List<String> benchJvmOptions() {
        String options = System.getProperty("bench.jvm-options");
        return options == null ? JVM_OPTIONS
                : withClassArchive(List.of(options.trim().split(" +")), com.foxtrackr.fanout.cli.ClassArchiveCommand.archiveOf(JAR));
    }

    static List<String> withClassArchive(List<String> options, Path archive) {
        List<String> all = new ArrayList<>(options);
        all.add("-XX:SharedArchiveFile=" + archive);
        return List.copyOf(all);
    }

    /** The JVM's options for the next starts (the run command's by default). */
    Bundle withJvmOptions(List<String> options) {
        this.jvmOptions = options;
        return this;
    }

    /** Another build of the jar for the next starts (a benchmark's version before). */
    Bundle withJar(Path jar) {
        this.jar = jar;
        return this;
    }

    /** Arguments of the jar for each start, such as --config-dir DIR. */
    Bundle withArguments(String... arguments) {
        this.arguments = List.of(arguments);
        return this;
    }

    Bundle with(String variable, String value) {
        env.put(variable, value);
        return this;
    }

    /**
     * The archive sinks "s3" (S3Proxy's bucket fleet-archive) and "local" (a directory), both under foxtrackr/raw,
     * writing a batch within half a second; fanout.sinks still has to name them.
     */
    Bundle withArchives(S3Proxy s3, Path directory) {
        return withS3Sink("s3", s3, "fleet-archive")
                .with("FANOUT_SINK_S3_PREFIX", "foxtrackr/raw")
                .with("FANOUT_SINK_S3_MAX_AGE_MS", "500")
                .with("FANOUT_SINK_S3_LINGER_MS", "100")
                .with("FANOUT_SINK_LOCAL_TYPE", "directory")
                .with("FANOUT_SINK_LOCAL_DIRECTORY", directory.toString())
                .with("FANOUT_SINK_LOCAL_PREFIX", "foxtrackr/raw")
                .with("FANOUT_SINK_LOCAL_MAX_AGE_MS", "500")
                .with("FANOUT_SINK_LOCAL_LINGER_MS", "100");
    }

    /** The environment variables' prefix of a sink's properties: FANOUT_SINK_<NAME>_. */
    private static String sinkVariables(String name) {
        return "FANOUT_SINK_" + name.toUpperCase(java.util.Locale.ROOT).replace('-', '_') + "_";
    }

    /** An http sink of the given name posting to the URL; fanout.sinks still has to name it. */
    Bundle withHttpSink(String name, String url) {
        String prefix = sinkVariables(name);
        return with(prefix + "TYPE", "http").with(prefix + "URL", url);
    }

    /** The outbox in the test's PostgreSQL (fanout.outbox.url, with its user and password from the environment). */
    Bundle withOutboxIn(Postgres postgres) {
        return with("FANOUT_OUTBOX_URL", postgres.url())
                .with("FANOUT_OUTBOX_USER", Postgres.USER)
                .with("FANOUT_OUTBOX_PASSWORD", Postgres.PASSWORD);
    }

    /** Three sinks of the three kinds: influx, a directory archive "local" writing within half a second, a partner "acme". */
    Bundle withThreeSinks(Path directory, CountingPartner partner) {
        return with("FANOUT_SINKS", "influx,local,acme")
                .with("FANOUT_SINK_LOCAL_TYPE", "directory")
                .with("FANOUT_SINK_LOCAL_DIRECTORY", directory.toString())
                .with("FANOUT_SINK_LOCAL_BATCH_SIZE", "1000")
                .with("FANOUT_SINK_LOCAL_MAX_AGE_MS", "500")
                .withHttpSink("acme", partner.url());
    }

    /** An s3 sink of the given name writing to S3Proxy's bucket; fanout.sinks still has to name it. */
    Bundle withS3Sink(String name, S3Proxy s3, String bucket) {
        String prefix = sinkVariables(name);
        return with(prefix + "TYPE", "s3")
                .with(prefix + "BUCKET", bucket)
                .with(prefix + "ENDPOINT", s3.url())
                .with(prefix + "PATH_STYLE", "true")
                .with(prefix + "ACCESS_KEY_ID", S3Proxy.KEY_ID)
                .with(prefix + "SECRET_ACCESS_KEY", S3Proxy.SECRET);
    }

    /** Starts the jar and waits until every route has started. */
    Bundle start() {
        launch();
        try {
            awaitLog("look at: ");
        } catch (RuntimeException e) {
            // the caller never gets this bundle to close: stop it here, or it outlives the test
            process.destroyForcibly();
            throw e;
        }
        return this;
    }

    Process launch() {
        log = dataDir.resolve("bundle-" + (++starts) + ".log");
        List<String> command = new ArrayList<>(List.of(javaBinary()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", jar.toString()));
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        environment(builder);
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return process;
    }

    private void environment(ProcessBuilder builder) {
        if (!inheritsConfiguration) {
            builder.environment().keySet().removeIf(variable -> variable.startsWith("FANOUT_"));
        }
        builder.environment().putAll(env);
    }

    void awaitLog(String text) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            String output = output();
            if (!process.isAlive() && !output.contains(text)) {
                throw new IllegalStateException("the bundle exited with " + process.exitValue() + ":\n" + output);
            }
            return output.contains(text);
        });
    }

    String output() throws IOException {
        return log == null ? "" : Files.readString(log);
    }

    /** Exit code of a run that is expected to end by itself. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the bundle did not exit");
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    /** A graceful stop, as an operator's Ctrl-C or systemd stop. */
    void stop() {
        Services.stop(process);
    }

    /** SIGKILL: no shutdown hook, no flush, as a crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** SIGSTOP, and SIGCONT with false: a process that hangs, with its connections open, and comes back. */
    void freeze(boolean frozen) throws IOException, InterruptedException {
        int exit = new ProcessBuilder("kill", frozen ? "-STOP" : "-CONT", String.valueOf(process.pid())).start().waitFor();
        if (exit != 0) {
            throw new IllegalStateException("kill " + (frozen ? "-STOP" : "-CONT") + " exited with " + exit);
        }
    }

    record CliResult(int exit, byte[] out, String err) {
        String text() {
            return new String(out, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** The same jar's command line (java -jar ... dlq ...), against this bundle's data directory. */
    CliResult cli(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(javaBinary(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        command.addAll(List.of("--data-dir", dataDir.toString()));
        Process cli = new ProcessBuilder(command).directory(workDir.toFile()).start();
        byte[] out = cli.getInputStream().readAllBytes();
        String err = new String(cli.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return new CliResult(cli.waitFor(), out, err);
    }

    /** The same jar with a command (check, --version), configured as this bundle is. */
    CliResult command(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(javaBinary(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        environment(builder);
        Process process = builder.start();
        byte[] out = process.getInputStream().readAllBytes();
        String err = new String(process.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return new CliResult(process.waitFor(), out, err);
    }

    Path outbox() {
        return dataDir.resolve("outbox.db");
    }

    /** The answer's body from the bundle's HTTP server; prefixed with the status when it is not 200. */
    String http(String method, String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? response.body() : response.statusCode() + " " + response.body();
    }

    /** A request as a browser or a script would send it: headers (name, value, ...) and a body; the status and the answer. */
    String http(String method, String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(30));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    /** /observe/health with every check's details: the status code (200 or 503) and the answer. */
    Health health() throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/observe/health?data=true"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        return new Health(response.statusCode(), new ObjectMapper().readTree(response.body()));
    }

    record Health(int status, JsonNode body) {
        /** One check's status (UP or DOWN), or null if there is no such check. */
        String check(String name) {
            JsonNode check = find(name);
            return check == null ? null : check.path("status").asText();
        }

        JsonNode data(String name) {
            JsonNode check = find(name);
            return check == null ? null : check.path("data");
        }

        private JsonNode find(String name) {
            for (JsonNode check : body.path("checks")) {
                if (name.equals(check.path("name").asText())) {
                    return check;
                }
            }
            return null;
        }
    }

    /** A value from /observe/metrics: the sample whose name and labels (as Prometheus prints them) are given; NaN if absent. */
    double metric(String sample) throws IOException, InterruptedException {
        for (String line : http("GET", "/observe/metrics").split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        return Double.NaN;
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Override
    public void close() {
        stop();
    }
}
