package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jar reads application.properties and routes/ from the folder it is started in: an operator edits
 * them there and restarts, with no rebuild.
 */
class RouteEditIT {
    static final String POS = "foxtrackr/grp-a/V3.0/pos";
    static Mosquitto broker;
    static Influx influx;

    @BeforeAll
    static void startServices() {
        broker = new Mosquitto().start();
        influx = new Influx().start().createDatabase("foxtrackr");
    }

    @AfterAll
    static void stopServices() {
        broker.close();
        influx.close();
    }

    // An operator maps messageType 7 to the battery series by editing routes/ingest.yaml and restarting.
    @Test
    void should_apply_an_edited_route_after_a_restart() throws Exception {
        Path home = copyOfProject();
        String typeSeven = "{\"messageType\":7,\"deviceId\":\"d7\",\"version\":3,\"timeMs\":%d,\"battery\":{\"level\":5}}";
        try (Bundle bundle = new Bundle(home, broker, influx).start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish(POS, String.format(typeSeven, Messages.T0));
            publisher.publish(POS, Messages.battery("marker", Messages.T0, 1));
            // Type 7 is "other" as shipped: the marker arrives, the type 7 message does not become a point.
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 1);
            assertEquals(2, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
            bundle.stop();

            Path ingest = home.resolve("routes/ingest.yaml");
            String edited = Files.readString(ingest).replace("== {{fanout.kind.battery.code}}", "in '{{fanout.kind.battery.code}},7'");
            assertTrue(!edited.equals(Files.readString(ingest)), "the edit applies to the shipped route");
            Files.writeString(ingest, edited);
            // what arrives during the restart waits in the persistent session
            publisher.publish(POS, Messages.battery("marker", Messages.T0 + 1, 1));

            bundle.start();
            publisher.publish(POS, String.format(typeSeven, Messages.T0 + 1));
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 3);
            assertEquals(4, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen"));
        }
    }

    // A route file that is not valid YAML stops the start with one line naming the file and the line.
    @Test
    void should_refuse_to_start_with_a_broken_route_file() throws Exception {
        Path home = copyOfProject();
        Files.writeString(home.resolve("routes/progress.yaml"), "- route:\n    id: progress\n    from:\n      uri: \"timer:progress\n");
        Bundle.CliResult start = new Bundle(home, broker, influx).command();
        assertEquals(2, start.exit(), start.err());
        assertTrue(start.err().matches("(?s).*ERROR Route file not valid YAML: .*routes/progress\\.yaml, line 4, column 12.*"), start.err());
        assertTrue(!start.err().contains("\tat "), "no stack trace: " + start.err());
    }

    // The properties file in the working folder is the one read: a misspelt option in it stops the start.
    @Test
    void should_refuse_a_misspelt_option_in_the_working_folders_properties() throws Exception {
        Path home = copyOfProject();
        Files.writeString(home.resolve("application.properties"), "\nfanout.sink.influx.batchsize=10\n", StandardOpenOption.APPEND);
        Bundle bundle = new Bundle(home, broker, influx);
        bundle.launch();
        assertEquals(2, bundle.awaitExit());
        assertTrue(bundle.output().contains("fanout.sink.influx.batchsize is not an option of sink-influxdb"), bundle.output());
    }

    static Path copyOfProject() throws IOException {
        Path home = Files.createTempDirectory("fanout-home");
        Files.copy(Bundle.HOME.resolve("application.properties"), home.resolve("application.properties"));
        Files.createDirectories(home.resolve("routes"));
        try (Stream<Path> routes = Files.list(Bundle.HOME.resolve("routes"))) {
            for (Path route : routes.toList()) {
                Files.copy(route, home.resolve("routes").resolve(route.getFileName()));
            }
        }
        return home;
    }
}
