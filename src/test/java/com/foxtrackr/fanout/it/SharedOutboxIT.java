package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three instances of the built jar with the same configuration and one outbox in PostgreSQL: one consumes the source
 * at a time, every one drains every sink. While 20,000 messages arrive at QoS 2, the instance holding the source is
 * killed twice (and started again), then hangs for a while (SIGSTOP), PostgreSQL is restarted once, and the partner
 * is down for a while: InfluxDB and the archive end exact, the partner with every idempotency key, and another
 * instance takes the source within 15 s of a kill.
 */
class SharedOutboxIT {
    static final int N = 20_000;
    static final String SOURCE_STANDBY = "fanout_source_standby{client_id=\"id-test-01\"}";

    @Test
    void should_share_the_work_and_take_the_source_over_with_nothing_lost_or_doubled() throws Exception {
        Path directory = Files.createTempDirectory("archive");
        List<String> published = Messages.alternating(N, 200);
        List<Bundle> instances = new ArrayList<>();
        try (Postgres postgres = new Postgres().start();
             CountingPartner partner = new CountingPartner();
             Mosquitto broker = new Mosquitto().start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < 3; i++) {
                instances.add(new Bundle(broker, influx)
                        .withOutboxIn(postgres)
                        .withThreeSinks(directory, partner)
                        .start());
            }
            Bundle holder = await().atMost(Duration.ofSeconds(30)).until(() -> holder(instances), h -> h != null);
            // the source's first subscription: what is published before it is not this client's to receive
            holder.awaitLog("state=subscribed");
            CompletableFuture<Void> publishing = publisher.publishInBackground("foxtrackr/grp-a/V3.0/x", published);

            List<Long> failovers = new ArrayList<>();
            for (int kill = 1; kill <= 2; kill++) {
                long before = PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen");
                await().atMost(Duration.ofSeconds(90)).until(() ->
                        PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen") >= Math.min(N, before + N / 6));
                holder.kill();
                long killed = System.nanoTime();
                Bundle dead = holder;
                holder = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                        .until(() -> holder(instances.stream().filter(b -> b != dead).toList()), h -> h != null);
                failovers.add((System.nanoTime() - killed) / 1_000_000);
                assertTrue(holder.output().contains("source=fleet event=taken"), holder.output());
                dead.start();
                if (kill == 1) {
                    partner.down = true;
                }
            }
            // the holder hangs: PostgreSQL ends its lock's idle session and another instance takes the source; back,
            // the hung one finds its session ended and gives the source up
            long beforeFreeze = PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen");
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen") >= Math.min(N, beforeFreeze + N / 10));
            Bundle hung = holder;
            hung.freeze(true);
            long frozen = System.nanoTime();
            holder = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> holder(instances.stream().filter(b -> b != hung).toList()), h -> h != null);
            long hungTakeover = (System.nanoTime() - frozen) / 1_000_000;
            hung.freeze(false);
            await().atMost(Duration.ofSeconds(30)).until(() -> hung.output().contains("source=fleet event=given-up"));
            // PostgreSQL stops as a crash would and comes back: nothing is acknowledged meanwhile
            long before = PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen");
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen") >= Math.min(N, before + N / 10));
            postgres.kill();
            postgres.start();
            partner.down = false;
            publishing.get();

            try {
                await().atMost(Duration.ofMinutes(4)).until(() -> PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen") == N
                        && PostgresOutboxIT.count(postgres, "SELECT count(*) FROM delivery") == 0);
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(state(postgres, partner, instances), e);
            }
            System.out.printf("shared outbox: source taken over in %s ms after each kill, in %d ms from a hung holder; "
                    + "the partner got %d repeats of %d messages%n", failovers, hungTakeover, partner.requests.get() - N, N);
            for (long ms : failovers) {
                assertTrue(ms <= 15_000, "taken over in " + ms + " ms");
            }
            assertEquals(N, PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen"), "each message stored once");
            assertEquals(N / 2, influx.count("foxtrackr", "battery", "level"));
            assertEquals(N / 2, influx.count("foxtrackr", "temperature", "value"));
            for (String payload : published) {
                assertEquals(1, partner.keysByPayload.getOrDefault(payload, Set.of()).size(), "one key per payload: " + payload);
            }
            assertEquals(N, partner.keysByPayload.size(), "the partner got nothing else");
            long holders = 0;
            for (Bundle instance : instances) {
                holders += instance.metric(SOURCE_STANDBY) == 0 ? 1 : 0;
            }
            assertEquals(1, holders, "one instance consumes the source");
            for (Bundle instance : instances) {
                // PostgreSQL's restart is said once per sink (state=outbox-failing), not at every poll
                assertFalse(instance.output().contains("Failed polling endpoint"), instance.output());
            }
        } finally {
            for (Bundle instance : instances) {
                instance.close();
            }
        }
        ArchiveIT.assertExactlyOnce(published, S3Proxy.payloadsIn(directory), "the archive");
    }

    /** What a timeout needs to be understood: the outbox's counts, the partner's and each instance's last words. */
    static String state(Postgres postgres, CountingPartner partner, List<Bundle> instances) throws Exception {
        StringBuilder state = new StringBuilder()
                .append("seen=").append(PostgresOutboxIT.count(postgres, "SELECT count(*) FROM seen"))
                .append(" message=").append(PostgresOutboxIT.count(postgres, "SELECT count(*) FROM message"))
                .append(" delivery=").append(PostgresOutboxIT.count(postgres, "SELECT count(*) FROM delivery"))
                .append(" partner keys=").append(partner.keysByPayload.size()).append('\n');
        try (var db = postgres.connect(); var rows = db.createStatement().executeQuery(
                "SELECT sink, state, count(*), min(next_attempt_ms), max(attempts) FROM delivery GROUP BY sink, state")) {
            while (rows.next()) {
                state.append("delivery ").append(rows.getString(1)).append(" state=").append(rows.getString(2))
                        .append(" count=").append(rows.getLong(3)).append(" next=").append(rows.getLong(4))
                        .append(" attempts=").append(rows.getLong(5)).append('\n');
            }
        }
        state.append("now=").append(System.currentTimeMillis()).append('\n');
        for (Bundle instance : instances) {
            String output = instance.output();
            state.append("--- instance ").append(instance.pid()).append(":\n")
                    .append(output, Math.max(0, output.length() - 6000), output.length()).append('\n');
        }
        return state.toString();
    }

    /** The instance that consumes the source, if one does. */
    static Bundle holder(List<Bundle> instances) throws Exception {
        for (Bundle instance : instances) {
            if (instance.metric(SOURCE_STANDBY) == 0) {
                return instance;
            }
        }
        return null;
    }
}
