package com.foxtrackr.fanout.outbox;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.it.Postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PostgreSQL outbox on a real server that the test starts: what SQLite's promises (each message once, sinks
 * apart, archive batches that survive failures, retries, dead letters) plus what several instances sharing it need
 * (no delivery given to two instances at once, every one delivered once).
 */
class PostgresOutboxTest {
    static final long HOUR = 3_600_000;
    static Postgres postgres;
    final List<Outbox> opened = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void startPostgres() {
        postgres = new Postgres().start();
    }

    @AfterAll
    static void stopPostgres() {
        postgres.close();
    }

    @BeforeEach
    void emptyDatabase() throws Exception {
        try (Connection db = postgres.connect()) {
            db.createStatement().execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (Outbox outbox : opened) {
            outbox.close();
        }
    }

    /** An instance's outbox with an archive sink and a per-message partner sink "acme" (batteries only). */
    Outbox instance() throws Exception {
        Outbox outbox = new PostgresOutbox(postgres.url(), Postgres.USER, Postgres.PASSWORD, 4, 168 * HOUR, 168 * HOUR);
        opened.add(outbox);
        outbox.addSink(new Sink("archive", SinkFilter.parse("x.", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        outbox.addSink(new Sink("acme", SinkFilter.parse("x.", "battery", null), new Sink.Retry(1, 1, 1, 3, Long.MAX_VALUE), null));
        outbox.sinksConfigured();
        return outbox;
    }

    static Outbox.Incoming message(int i, String kind) {
        return new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", kind, 1, "d", i, null);
    }

    static void store(Outbox outbox, int from, int to, String kind) throws SQLException {
        List<Outbox.Incoming> group = new ArrayList<>();
        for (int i = from; i < to; i++) {
            group.add(message(i, kind));
        }
        outbox.storeAll(group);
    }

    long count(String sql) throws SQLException {
        try (Connection db = postgres.connect(); ResultSet rs = db.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void should_store_each_message_once_with_a_row_per_sink_that_takes_it() throws Exception {
        Outbox outbox = instance();
        store(outbox, 0, 10, "battery");
        store(outbox, 5, 15, "battery");
        store(outbox, 100, 103, "other");
        outbox.storeAll(List.of(new Outbox.Incoming("not json".getBytes(StandardCharsets.UTF_8), "t", null, 0, null, 0, "not JSON"),
                new Outbox.Incoming("not json".getBytes(StandardCharsets.UTF_8), "t", null, 0, null, 0, "not JSON")));
        assertEquals(18, count("SELECT count(*) FROM message"));
        assertEquals(15, outbox.pending("acme"));
        assertEquals(18, outbox.pending("archive"));
        assertEquals(1, count("SELECT count(*) FROM rejected"));
        // a second instance starting on the same tables migrates nothing and sees the same
        assertEquals(15, instance().pending("acme"));
        assertEquals(PostgresSchema.version(), count("SELECT count(*) FROM outbox_schema"), "each version made once");
    }

    // Two instances draining one sink at once: no message is given to both, and every message is delivered once.
    @Test
    void should_give_each_delivery_to_one_instance_at_a_time_and_deliver_each_once() throws Exception {
        Outbox first = instance();
        Outbox second = instance();
        store(first, 0, 3000, "battery");
        List<Long> delivered = Collections.synchronizedList(new ArrayList<>());
        ExecutorService instances = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> drains = new ArrayList<>();
            for (Outbox outbox : List.of(first, second)) {
                drains.add(instances.submit(() -> {
                    for (Batch batch = outbox.claim("acme", 50); !batch.isEmpty(); batch = outbox.claim("acme", 50)) {
                        batch.items().forEach(item -> delivered.add(item.messageId()));
                        outbox.delivered("acme", batch);
                    }
                    return null;
                }));
            }
            for (Future<?> drain : drains) {
                drain.get();
            }
        } finally {
            instances.shutdownNow();
        }
        assertEquals(3000, delivered.size());
        assertEquals(3000, new HashSet<>(delivered).size(), "no message delivered twice");
        assertEquals(0, first.pending("acme"));
        // the archive still needs every message
        assertEquals(3000, count("SELECT count(*) FROM message"));
    }

    // A claim leases its rows: another instance does not get them until they are settled or the lease ends.
    @Test
    void should_keep_claimed_deliveries_from_other_instances_and_give_back_failed_ones() throws Exception {
        Outbox first = instance();
        Outbox second = instance();
        store(first, 0, 10, "battery");
        Batch claimed = first.claim("acme", 6);
        assertEquals(6, claimed.size());
        assertEquals(4, second.claim("acme", 10).size());
        assertTrue(second.claim("acme", 10).isEmpty());
        first.failed("acme", claimed, "HTTP 503");
        // the first backs off; the second takes the failed ones at once, with their attempt counted
        Batch retried = second.claim("acme", 10);
        assertEquals(ids(claimed), ids(retried));
        assertTrue(retried.items().stream().allMatch(item -> item.attempts() == 1));
    }

    // The archive's (and a batching partner's) batch keeps its id and items when it fails, whichever instance retries it.
    @Test
    void should_give_back_the_same_archive_batch_to_any_instance_after_a_failure() throws Exception {
        Outbox first = instance();
        Outbox second = instance();
        store(first, 0, 7, "battery");
        assertTrue(first.claimArchive("archive", 10, HOUR).isEmpty(), "neither full nor old enough");
        Batch batch = first.claimArchive("archive", 5, HOUR);
        assertEquals(5, batch.size());
        assertTrue(second.claimArchive("archive", 5, HOUR).isEmpty(), "the leased batch is not another's; the rest is not full");
        first.failed("archive", batch, "S3 down");
        Batch again = second.claimArchive("archive", 5, HOUR);
        assertEquals(batch.id(), again.id());
        assertEquals(ids(batch), ids(again));
        assertEquals(batch.inMessageOrder().key(), again.inMessageOrder().key(), "a batching partner gets the same Idempotency-Key");
        second.delivered("archive", again);
        assertEquals(2, second.pending("archive"));
        assertEquals(2, second.claimArchive("archive", 5, 0).size());
    }

    // Per message: held, then settled; retries until the attempts run out, dead letters replayed and purged.
    @Test
    void should_retry_dead_letter_replay_and_purge_per_message() throws Exception {
        Outbox outbox = instance();
        store(outbox, 0, 3, "battery");
        Batch held = outbox.hold("acme", outbox.claim("acme", 10), 20_000);
        outbox.settle("acme", held, List.of(
                new Outbox.Outcome(held.items().get(0), Outbox.Outcome.Result.DELIVERED, null, 0),
                new Outbox.Outcome(held.items().get(1), Outbox.Outcome.Result.RETRY, "HTTP 503", 0),
                new Outbox.Outcome(held.items().get(2), Outbox.Outcome.Result.DEAD, "HTTP 400", 0)));
        assertEquals(1, outbox.pending("acme"));
        Backlog.Snapshot counted = outbox.backlog().snapshot();
        assertEquals(1, counted.sink("acme").pending());
        assertEquals(1, counted.sink("acme").dead());
        assertEquals(3, counted.sink("archive").pending());

        DeadLetters dlq = outbox.deadLetters();
        assertEquals(List.of("acme", "archive"), dlq.sinks());
        assertEquals("HTTP 400", dlq.entries("acme", 10).get(0).lastError());
        assertEquals(1, dlq.replay(DeadLetters.Selection.of("acme", null, null, null)));
        assertEquals(2, outbox.pending("acme"));
        Batch again = outbox.hold("acme", outbox.claim("acme", 10), 20_000);
        outbox.settle("acme", again, again.items().stream()
                .map(item -> new Outbox.Outcome(item, Outbox.Outcome.Result.DEAD, "HTTP 400", 0)).toList());
        assertEquals(2, dlq.purge("acme", null, null, null));
        assertEquals(0, outbox.pending("acme"));
        Batch archived = outbox.claimArchive("archive", 3, HOUR);
        outbox.delivered("archive", archived);
        outbox.maintain();
        assertEquals(0, count("SELECT count(*) FROM message"), "a message goes once no sink needs it");
    }

    // Several instances starting at once on an empty database: the tables are made once.
    @Test
    void should_make_the_tables_once_when_instances_start_together() throws Exception {
        ExecutorService starting = Executors.newFixedThreadPool(3);
        try {
            List<Future<Outbox>> outboxes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                outboxes.add(starting.submit(this::instance));
            }
            for (Future<Outbox> outbox : outboxes) {
                outbox.get();
            }
        } finally {
            starting.shutdownNow();
        }
        assertEquals(PostgresSchema.version(), count("SELECT max(version) FROM outbox_schema"));
        assertEquals(PostgresSchema.version(), count("SELECT count(*) FROM outbox_schema"));
    }

    static Set<Long> ids(Batch batch) {
        Set<Long> ids = new HashSet<>();
        batch.items().forEach(item -> ids.add(item.messageId()));
        return ids;
    }
}
