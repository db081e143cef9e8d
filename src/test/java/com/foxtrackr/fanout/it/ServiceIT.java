package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The systemd unit the repository ships, and the bundle stopped as systemd stops it (SIGTERM). */
class ServiceIT {
    static final Path UNIT = Bundle.HOME.resolve("deploy/foxtrackr-fanout.service");

    // The unit runs the README's command from the folder of the configuration, with the secrets from a file;
    // a stop by SIGTERM counts as a success, a crash restarts it, a configuration mistake (exit 2) does not.
    @Test
    void should_ship_a_unit_that_runs_the_readmes_command() throws Exception {
        Map<String, String> service = section("Service");
        List<String> options = Bundle.withClassArchive(Bundle.RUN_OPTIONS, Path.of("/opt/foxtrackr-fanout/foxtrackr-fanout.jsa"));
        assertEquals("/usr/bin/java " + String.join(" ", options) + " -jar /opt/foxtrackr-fanout/foxtrackr-fanout.jar",
                service.get("ExecStart"));
        assertEquals("/opt/foxtrackr-fanout", service.get("WorkingDirectory"));
        assertEquals("/etc/foxtrackr-fanout/environment", service.get("EnvironmentFile"));
        assertEquals("143", service.get("SuccessExitStatus"));
        assertEquals("on-failure", service.get("Restart"));
        assertEquals("2", service.get("RestartPreventExitStatus"));
        assertTrue(Integer.parseInt(service.get("LimitNOFILE")) >= 65536, service.toString());
        assertTrue(Files.readString(Bundle.HOME.resolve("README.md")).contains("deploy/foxtrackr-fanout.service"), "the README says how to install it");
    }

    // SIGTERM with deliveries waiting for a sink that is down: the exit code is the unit's success, and the last
    // line says what is pending per sink and that it is kept.
    @Test
    void should_stop_on_sigterm_with_the_units_success_code_and_say_what_is_pending() throws Exception {
        try (Mosquitto broker = new Mosquitto().start(); Influx influx = new Influx().start();
             Bundle bundle = new Bundle(broker, influx).with("FANOUT_SINK_INFLUX_URL", "http://127.0.0.1:" + Services.freePort()).start();
             Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < 5; i++) {
                publisher.publish("foxtrackr/grp-a/V3.0/bat", Messages.battery("dev-" + i, Messages.T0 + i, i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == 5);
            bundle.stop();
            assertEquals(section("Service").get("SuccessExitStatus"), String.valueOf(bundle.awaitExit()), bundle.output());
            assertTrue(bundle.output().contains("stopped: nothing is lost; pending in the outbox, delivered after the next start: influx=5"),
                    bundle.output());
        }
    }

    // The unit makes the class archive for the jar it runs, from its folder, before a start when the jar is newer (a
    // new version copied in), and leaves it alone otherwise; the JVM then maps it (-Xshare:on fails if it cannot).
    @Test
    void should_make_the_class_archive_for_its_jar_when_the_jar_is_newer() throws Exception {
        Path folder = Services.tempDir("fanout-service");
        Files.copy(Bundle.JAR, folder.resolve("foxtrackr-fanout.jar"));
        Files.copy(Bundle.HOME.resolve("application.properties"), folder.resolve("application.properties"));
        try (var routes = Files.list(Bundle.HOME.resolve("routes"))) {
            Files.createDirectories(folder.resolve("routes"));
            for (Path route : routes.toList()) {
                Files.copy(route, folder.resolve("routes").resolve(route.getFileName()));
            }
        }
        String pre = section("Service").get("ExecStartPre");
        assertTrue(pre.startsWith("-/bin/sh -c '"), "a failure to make it does not stop the start: " + pre);
        String script = pre.substring("-/bin/sh -c '".length(), pre.length() - 1).replace("/usr/bin/java", Bundle.javaBinary());
        Path archive = folder.resolve("foxtrackr-fanout.jsa");

        assertEquals(0, run(folder, "/bin/sh", "-c", script));
        assertTrue(Files.isRegularFile(archive), "made " + archive);
        assertEquals(0, run(folder, Bundle.javaBinary(), "-Xshare:on", "-XX:SharedArchiveFile=" + archive, "-jar",
                folder.resolve("foxtrackr-fanout.jar").toString(), "--version"), "the JVM maps the archive for this jar");
        var made = Files.getLastModifiedTime(archive);
        assertEquals(0, run(folder, "/bin/sh", "-c", script));
        assertEquals(made, Files.getLastModifiedTime(archive), "not made again for the same jar");
    }

    // The package step makes the archive that the README's run command names, for the jar it built.
    @Test
    void should_build_the_class_archive_the_run_command_uses() throws Exception {
        String archive = Bundle.JVM_OPTIONS.stream().filter(option -> option.startsWith("-XX:SharedArchiveFile=")).findFirst().orElseThrow();
        assertTrue(Files.readString(Bundle.HOME.resolve("README.md")).contains(
                "-XX:SharedArchiveFile=target/foxtrackr-fanout.jsa -jar target/foxtrackr-fanout.jar"), "the README's run command uses it");
        assertEquals(0, run(Bundle.HOME, Bundle.javaBinary(), "-Xshare:on", archive, "-jar", "target/foxtrackr-fanout.jar", "--version"),
                "the JVM maps the archive for the built jar");
    }

    static int run(Path folder, String... command) throws Exception {
        Process process = new ProcessBuilder(command).directory(folder.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int exit = process.waitFor();
        if (exit != 0) {
            System.out.println(String.join(" ", command) + " ended with " + exit + ":\n" + output);
        }
        return exit;
    }

    /** The keys of one section of the unit file. */
    static Map<String, String> section(String name) throws Exception {
        Map<String, String> keys = new LinkedHashMap<>();
        String current = null;
        for (String line : Files.readAllLines(UNIT)) {
            if (line.startsWith("[")) {
                current = line.substring(1, line.indexOf(']'));
            } else if (name.equals(current) && line.contains("=") && !line.startsWith("#")) {
                keys.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }
        return keys;
    }
}
