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
        assertEquals("/usr/bin/java " + String.join(" ", Bundle.JVM_OPTIONS) + " -jar /opt/foxtrackr-fanout/foxtrackr-fanout.jar",
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
