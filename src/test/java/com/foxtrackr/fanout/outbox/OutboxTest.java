package com.foxtrackr.fanout.outbox;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The outbox's bookkeeping on a real SQLite file: repeats, archive batches that survive failures and restarts. */
class OutboxTest {
    static final long HOUR = 3_600_000;
    Path file;
    Outbox outbox;

    @BeforeEach
    void open() throws Exception {
        file = Files.createTempDirectory("outbox").resolve("outbox.db");
        outbox = reopen();
    }

    @AfterEach
    void close() throws Exception {
        outbox.close();
    }

    Outbox reopen() throws Exception {
        return reopen("archive");
    }

    /** The outbox with an archive sink, and per-message sinks of these names ("name:kinds" takes only those kinds). */
    Outbox reopen(String archive, String... partners) throws Exception {
        Outbox o = new SqliteOutbox(file, "NORMAL", 168 * HOUR, 168 * HOUR);
        if (archive != null) {
            o.addSink(new Sink(archive, SinkFilter.parse("x.", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        }
        for (String partner : partners) {
            String[] nameAndKinds = partner.split(":");
            o.addSink(new Sink(nameAndKinds[0], SinkFilter.parse("x.", nameAndKinds.length > 1 ? nameAndKinds[1] : null, null),
                    new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        }
        o.sinksConfigured();
        return o;
    }

    /** Reopens the outbox on a new file that an earlier version made: these statements make it. */
    void openEarlierOutbox(String... statements) throws Exception {
        outbox.close();
        file = Files.createTempDirectory("outbox").resolve("outbox.db");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            for (String statement : statements) {
                db.createStatement().execute(statement);
            }
        }
        outbox = reopen();
    }

    void restart(String archive, String... partners) throws Exception {
        outbox.close();
        outbox = reopen(archive, partners);
    }

    void store(int i) throws Exception {
        store(i, "other");
    }

    /** Stores payloads 0 to n - 1. */
    void storeEach(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            store(i);
        }
    }

    void store(int i, String kind) throws Exception {
        outbox.storeAll(List.of(new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8),
                "foxtrackr/g/V3.0/x", kind, 7, "d", 1, null)));
    }

    // A batch's key names its messages whatever order a store gives them in (a partner's Idempotency-Key), and
    // differs for any other set of them.
    @Test
    void should_key_a_batch_by_its_messages_in_the_order_they_were_received() throws Exception {
        storeEach(3);
        List<Batch.Item> items = outbox.claim("archive", 3).items();
        Batch received = new Batch(1, items, false);
        Batch shuffled = new Batch(1, List.of(items.get(2), items.get(0), items.get(1)), false);
        assertEquals(received.items(), shuffled.inMessageOrder().items());
        assertEquals(received.key(), shuffled.inMessageOrder().key());
        assertTrue(received.key().matches("[0-9a-f]{32}"), received.key());
        assertFalse(received.key().equals(Batch.part(items.subList(0, 2)).key()));
    }

    @Test
    void should_store_a_repeated_payload_once() throws Exception {
        store(1);
        store(1);
        assertEquals(1, outbox.pending("archive"));
    }

    // Repeats are recognised by the message's time and part of its key: different payloads of the same
    // millisecond are all stored.
    @Test
    void should_store_every_different_payload_of_the_same_millisecond() throws Exception {
        for (int i = 0; i < 10_000; i++) {
            store(i);
        }
        assertEquals(10_000, outbox.pending("archive"));
    }

    // Once every message is delivered and gone, the next one still gets a new id: an archive batch is named by
    // its first message's id, and a reused id would overwrite an object already written.
    @Test
    void should_never_give_an_id_twice() throws Exception {
        store(1);
        Batch first = outbox.claimArchive("archive", 1, 0);
        outbox.delivered("archive", first);
        assertEquals(0, outbox.pending("archive"));
        outbox.close();
        outbox = reopen();
        store(2);
        Batch second = outbox.claimArchive("archive", 1, 0);
        assertTrue(second.id() > first.id(), second.id() + " after " + first.id());
    }

    // An outbox made by an earlier version (ids that could be reused) keeps its messages and their ids.
    @Test
    void should_keep_the_messages_of_an_earlier_outbox_and_never_reuse_their_ids() throws Exception {
        openEarlierOutbox(
                "CREATE TABLE message (id INTEGER PRIMARY KEY, key TEXT NOT NULL, topic TEXT NOT NULL, "
                        + "kind TEXT NOT NULL, device_id TEXT NOT NULL, time_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, payload BLOB NOT NULL)",
                "INSERT INTO message VALUES (41, 'k', 't', 'other', 'd', 1, 1, x'7b7d')");
        store(1);
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = db.createStatement().executeQuery("SELECT group_concat(id) FROM (SELECT id FROM message ORDER BY id)")) {
            assertEquals("41,42", rs.getString(1));
        }
    }

    // An outbox made when keys were kept as hex text, or as bytes without the message's time, still recognises the
    // payloads it has seen, until they expire.
    @Test
    void should_recognise_the_repeats_of_an_earlier_outbox() throws Exception {
        String key = Outbox.key("{\"n\":1}".getBytes(StandardCharsets.UTF_8));
        assertRepeatsRecognised("CREATE TABLE seen (key TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL) WITHOUT ROWID", "'" + key + "'");
        assertRepeatsRecognised("CREATE TABLE seen (key BLOB PRIMARY KEY, seen_ms INTEGER NOT NULL) WITHOUT ROWID", "x'" + key + "'");
    }

    void assertRepeatsRecognised(String seenTable, String keyLiteral) throws Exception {
        openEarlierOutbox(
                seenTable,
                "CREATE INDEX seen_by_time ON seen (seen_ms)",
                "INSERT INTO seen VALUES (" + keyLiteral + ", " + System.currentTimeMillis() + ")");
        store(1);
        store(2);
        assertEquals(1, outbox.pending("archive"), "the payload seen before is a repeat: " + seenTable);
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            db.createStatement().execute("UPDATE seen SET seen_ms = 0 WHERE time_ms = -1");
        }
        outbox.maintain();
        store(1);
        assertEquals(2, outbox.pending("archive"), "once expired, the payload is new again: " + seenTable);
    }

    // A rejected payload that comes again (a redelivery after a restart) is one dead letter, not two.
    @Test
    void should_keep_a_repeated_rejected_payload_once() throws Exception {
        Outbox.Incoming bad = new Outbox.Incoming("{\"n\":".getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", null, 0, null, 0,
                "not JSON");
        outbox.storeAll(List.of(bad));
        outbox.storeAll(List.of(bad, bad));
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = db.createStatement().executeQuery("SELECT count(*) FROM rejected")) {
            assertEquals(1, rs.getInt(1));
        }
    }

    @Test
    void should_wait_for_a_full_batch_or_its_max_age() throws Exception {
        storeEach(5);
        assertTrue(outbox.claimArchive("archive", 10, HOUR).isEmpty(), "not full, not old: wait");
        assertEquals(5, outbox.claimArchive("archive", 5, HOUR).size(), "full");
    }

    // A failed or interrupted batch comes back with the same id and the same deliveries, so the same objects:
    // after a failure and a restart, and after a crash while it was being written.
    @Test
    void should_give_back_the_same_batch_after_a_failure_and_after_a_restart() throws Exception {
        assertSameBatchAfterRestart(true);
    }

    @Test
    void should_give_back_the_same_batch_after_a_crash_while_it_was_written() throws Exception {
        assertSameBatchAfterRestart(false);
    }

    void assertSameBatchAfterRestart(boolean failedFirst) throws Exception {
        storeEach(8);
        Batch first = outbox.claimArchive("archive", 5, HOUR);
        store(100);
        if (failedFirst) {
            outbox.failed("archive", first, "store unreachable");
        }
        restart("archive");
        Batch again = outbox.claimArchive("archive", 5, HOUR);
        assertEquals(first.id(), again.id());
        assertEquals(ids(first), ids(again));
        outbox.delivered("archive", again);
        assertEquals(4, outbox.pending("archive"));
        assertEquals(List.of(first.items().get(4).messageId() + 1), ids(outbox.claimArchive("archive", 1, 0)));
    }

    // A message stays until every sink that takes it has settled it; one that failed stays for its retry only.
    @Test
    void should_keep_a_message_until_every_sink_has_settled_it() throws Exception {
        restart("archive", "acme");
        storeEach(3);
        outbox.delivered("archive", outbox.claimArchive("archive", 3, 0));
        outbox.maintain();
        assertEquals(3, messages(), "acme has not settled them");
        Batch calls = outbox.claim("acme", 10);
        outbox.settle("acme", calls, List.of(
                new Outbox.Outcome(calls.items().get(0), Outbox.Outcome.Result.DELIVERED, null, 0),
                new Outbox.Outcome(calls.items().get(1), Outbox.Outcome.Result.RETRY, "HTTP 503", 0),
                new Outbox.Outcome(calls.items().get(2), Outbox.Outcome.Result.DELIVERED, null, 0)));
        assertEquals(1, messages(), "the retry's");
        assertEquals(1, outbox.pending("acme"));
        assertEquals(0, outbox.pending("archive"));
        assertTrue(outbox.claim("acme", 10).isEmpty(), "the retry waits for its back-off");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            db.createStatement().execute("UPDATE delivery SET next_attempt_ms = 0");
        }
        Batch retry = outbox.claim("acme", 10);
        assertEquals(List.of(calls.items().get(1).messageId()), ids(retry));
        assertEquals(1, retry.items().get(0).attempts());
        deliveredAll("acme", retry);
        assertEquals(0, messages());
    }

    // A sink that takes one kind passes over the others, however many, and does not hold them back.
    @Test
    void should_pass_over_the_messages_a_sink_does_not_take() throws Exception {
        restart("archive", "acme:battery");
        storeEach(250);
        store(1000, "battery");
        store(1001);
        assertEquals(1, outbox.pending("acme"));
        assertEquals(252, outbox.pending("archive"));
        Batch calls = outbox.claim("acme", 100);
        assertEquals(1, calls.size());
        assertEquals("battery", calls.items().get(0).kind());
        deliveredAll("acme", calls);
        drainArchive(100);
        assertTrue(outbox.claim("acme", 100).isEmpty());
        assertEquals(0, messages());
    }

    // A sink taken out of the configuration keeps what it had still to do, until it comes back, and no longer
    // holds back the messages that come after.
    @Test
    void should_keep_the_work_of_a_sink_no_longer_configured() throws Exception {
        restart("archive", "acme");
        storeEach(3);
        restart("archive");
        store(3);
        drainArchive(10);
        assertEquals(3, messages(), "acme's three wait; the fourth came after it was gone");
        restart("archive", "acme");
        assertEquals(3, outbox.pending("acme"));
        assertEquals(3, outbox.claim("acme", 10).size());
    }

    // An outbox made when every message had a delivery row per sink: those rows are delivered, then what comes next.
    @Test
    void should_deliver_the_rows_of_an_earlier_outbox() throws Exception {
        openEarlierOutbox(
                "CREATE TABLE message (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, topic TEXT NOT NULL, "
                        + "kind TEXT NOT NULL, device_id TEXT NOT NULL, time_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, payload BLOB NOT NULL)",
                "CREATE TABLE delivery (message_id INTEGER NOT NULL REFERENCES message (id), sink TEXT NOT NULL, "
                        + "state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL, "
                        + "first_error TEXT, first_error_ms INTEGER, last_error TEXT, last_error_ms INTEGER, batch INTEGER, "
                        + "PRIMARY KEY (message_id, sink)) WITHOUT ROWID",
                "INSERT INTO message VALUES (1, 'k1', 't', 'other', 'd', 1, 1, x'7b7d'), (2, 'k2', 't', 'other', 'd', 1, 1, x'7b7d')",
                "INSERT INTO delivery (message_id, sink, next_attempt_ms) VALUES (1, 'archive', 1), (2, 'archive', 1)");
        store(1);
        assertEquals(3, outbox.pending("archive"));
        Batch batch = outbox.claimArchive("archive", 10, 0);
        assertEquals(List.of(1L, 2L, 3L), ids(batch));
        outbox.delivered("archive", batch);
        assertEquals(0, messages());
    }

    void drainArchive(int batchSize) throws Exception {
        for (Batch batch = outbox.claimArchive("archive", batchSize, 0); !batch.isEmpty(); batch = outbox.claimArchive("archive", batchSize, 0)) {
            outbox.delivered("archive", batch);
        }
    }

    void deliveredAll(String sink, Batch calls) throws Exception {
        outbox.settle(sink, calls, calls.items().stream().map(item -> new Outbox.Outcome(item, Outbox.Outcome.Result.DELIVERED, null, 0)).toList());
    }

    long messages() throws Exception {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = db.createStatement().executeQuery("SELECT count(*) FROM message")) {
            return rs.getLong(1);
        }
    }

    // A drained backlog gives its space back to the filesystem: the outbox does not stay at its peak size.
    @Test
    void should_give_back_the_space_of_a_drained_backlog() throws Exception {
        String padding = "x".repeat(1000);
        for (int chunk = 0; chunk < 20; chunk++) {
            List<Outbox.Incoming> messages = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                messages.add(new Outbox.Incoming(("{\"n\":" + (chunk * 1000 + i) + ",\"p\":\"" + padding + "\"}").getBytes(StandardCharsets.UTF_8),
                        "foxtrackr/g/V3.0/x", "other", 7, "d", 1, null));
            }
            outbox.storeAll(messages);
        }
        long peak = databaseBytes();
        drainArchive(5000);
        long drained = databaseBytes();
        assertTrue(drained >= peak, "delivered messages leave free pages: from " + peak + " to " + drained + " bytes");
        outbox.maintain();
        // what stays: the keys kept for repeat detection, and 8 MiB of free pages for the next messages
        assertTrue(databaseBytes() < peak / 2, "from " + peak + " bytes to " + databaseBytes());
    }

    /** The database's size in pages, which the file takes at the next checkpoint. */
    long databaseBytes() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = c.createStatement().executeQuery("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static List<Long> ids(Batch batch) {
        return batch.items().stream().map(Batch.Item::messageId).toList();
    }
}
