package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundle with its outbox in PostgreSQL (fanout.outbox.url), on a real server the test starts: killed with
 * SIGKILL in the middle of a QoS 2 stream and started again, every sink ends with every message (InfluxDB and the
 * archive exactly, the partner each under one idempotency key), and the password appears in no log line.
 */
class PostgresOutboxIT {
    static final int N = 6_000;

    @Test
    void should_lose_and_double_nothing_across_a_kill_with_the_outbox_in_postgresql() throws Exception {
        Path directory = Files.createTempDirectory("archive");
        List<String> published = Messages.alternating(N, 100);
        try (Postgres postgres = new Postgres().start();
             CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Bundle bundle = new Bundle(broker, influx)
                     .withOutboxIn(postgres)
                     .withThreeSinks(directory, partner)
                     .start();
             Publisher publisher = new Publisher(broker)) {
            // the source's first subscription: what is published before it is not this client's to receive
            bundle.awaitLog("state=subscribed");
            publisher.publish("foxtrackr/grp-a/V3.0/x", "not json");
            CompletableFuture<Void> publishing = publisher.publishInBackground("foxtrackr/grp-a/V3.0/x", published);
            await().atMost(Duration.ofSeconds(60)).until(() -> count(postgres, "SELECT count(*) FROM seen") >= N / 3);
            String firstRun = bundle.output();
            bundle.kill();
            bundle.start();
            publishing.get();
            // the source is consumed again once the restarted instance has taken it (a moment after its start)
            await().atMost(Duration.ofMinutes(3)).until(() -> count(postgres, "SELECT count(*) FROM seen") == N + 1
                    && count(postgres, "SELECT count(*) FROM delivery") == 0);
            assertEquals(N + 1, count(postgres, "SELECT count(*) FROM seen"), "each message stored once, and the refused one");
            assertEquals(1, count(postgres, "SELECT count(*) FROM rejected"));
            assertEquals(0, count(postgres, "SELECT count(*) FROM message"), "a delivered message goes");
            assertEquals(N / 2, influx.count("foxtrackr", "battery", "level"));
            assertEquals(N / 2, influx.count("foxtrackr", "temperature", "value"));
            for (String payload : published) {
                assertEquals(1, partner.keysByPayload.getOrDefault(payload, Set.of()).size(), "one key per payload: " + payload);
            }
            assertEquals(N, partner.keysByPayload.size(), "the partner got nothing else");
            System.out.printf("postgresql outbox: the partner got %d repeats of %d messages across a kill%n",
                    partner.requests.get() - N, N);
            assertTrue(firstRun.contains("outbox event=schema-migrated version=1"), firstRun);
            assertFalse(bundle.output().contains("schema-migrated"), "made once");
            assertFalse((firstRun + bundle.output()).contains(Postgres.PASSWORD), "the password is masked in every line");
            assertFalse(Files.exists(bundle.outbox()), "no SQLite outbox beside PostgreSQL");
            // the command line finds the dead letters where the bundle keeps them
            Bundle.CliResult list = bundle.command("dlq", "list");
            assertEquals(0, list.exit(), list.text() + list.err());
            assertTrue(list.text().matches("(?s)sink +count.*\nrejected +1 .*"), list.text());
        }
        List<byte[]> archived = S3Proxy.payloadsIn(directory);
        ArchiveIT.assertExactlyOnce(published, archived, "the archive");
    }

    // The instance that takes the source connects to the broker for as long as it holds it, however long the broker
    // is down: camel-master would try 10 times 5 s apart (here once) and then hold the source without consuming.
    @Test
    void should_consume_the_source_it_holds_once_the_broker_comes_up() throws Exception {
        try (Postgres postgres = new Postgres().start();
             Mosquitto broker = new Mosquitto();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Bundle bundle = new Bundle(broker, influx)
                     .withOutboxIn(postgres)
                     .with("CAMEL_COMPONENT_MASTER_BACKOFFMAXATTEMPTS", "1")
                     .with("CAMEL_COMPONENT_MASTER_BACKOFFDELAY", "500")
                     .start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("source=fleet event=taken"));
            // three attempts to connect, each refused
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().split("client-id=id-test-01 state=disconnected", -1).length > 3);
            broker.start();
            bundle.awaitLog("state=subscribed");
            try (Publisher publisher = new Publisher(broker)) {
                FailureIT.publishBatteries(publisher, 0, 50);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 50);
            assertEquals(0, bundle.metric(SharedOutboxIT.SOURCE_STANDBY), "it holds the source");
        }
    }

    static long count(Postgres postgres, String sql) throws SQLException {
        try (Connection db = postgres.connect(); ResultSet rs = db.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            // the bundle may not have made its tables yet
            if ("42P01".equals(e.getSQLState())) {
                return -1;
            }
            throw e;
        }
    }
}
