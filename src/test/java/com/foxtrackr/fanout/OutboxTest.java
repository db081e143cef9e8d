package com.foxtrackr.fanout;

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
        Outbox o = new Outbox(file, "NORMAL", 168 * HOUR, 168 * HOUR);
        o.addSink(new Sink("archive", SinkFilter.parse("x.", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE),
                Archive::isPermanent, null));
        return o;
    }

    void store(int i) throws Exception {
        outbox.storeAll(List.of(new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8),
                "foxtrackr/g/V3.0/x", "other", 7, "d", 1, null)));
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
        outbox.close();
        Path old = Files.createTempDirectory("outbox").resolve("outbox.db");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + old)) {
            db.createStatement().execute("CREATE TABLE message (id INTEGER PRIMARY KEY, key TEXT NOT NULL, topic TEXT NOT NULL, "
                    + "kind TEXT NOT NULL, device_id TEXT NOT NULL, time_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, payload BLOB NOT NULL)");
            db.createStatement().execute("INSERT INTO message VALUES (41, 'k', 't', 'other', 'd', 1, 1, x'7b7d')");
        }
        file = old;
        outbox = reopen();
        store(1);
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + old);
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
        outbox.close();
        Path old = Files.createTempDirectory("outbox").resolve("outbox.db");
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + old)) {
            db.createStatement().execute(seenTable);
            db.createStatement().execute("CREATE INDEX seen_by_time ON seen (seen_ms)");
            db.createStatement().execute("INSERT INTO seen VALUES (" + keyLiteral + ", " + System.currentTimeMillis() + ")");
        }
        file = old;
        outbox = reopen();
        store(1);
        store(2);
        assertEquals(1, outbox.pending("archive"), "the payload seen before is a repeat: " + seenTable);
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + old)) {
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
        for (int i = 0; i < 5; i++) {
            store(i);
        }
        assertTrue(outbox.claimArchive("archive", 10, HOUR).isEmpty(), "not full, not old: wait");
        assertEquals(5, outbox.claimArchive("archive", 5, HOUR).size(), "full");
    }

    // A failed or interrupted batch comes back with the same id and the same deliveries, so the same objects.
    @Test
    void should_give_back_the_same_batch_after_a_failure_and_after_a_restart() throws Exception {
        for (int i = 0; i < 8; i++) {
            store(i);
        }
        Batch first = outbox.claimArchive("archive", 5, HOUR);
        store(100);
        outbox.failed("archive", first, new java.io.IOException("store unreachable"));
        outbox.close();
        outbox = reopen();
        Batch again = outbox.claimArchive("archive", 5, HOUR);
        assertEquals(first.id(), again.id());
        assertEquals(ids(first), ids(again));
        outbox.delivered("archive", again);
        assertEquals(4, outbox.pending("archive"));
    }

    // An item the archive cannot store fails its batch; the items are then taken one by one and only it is dead.
    @Test
    void should_isolate_the_item_an_archive_refuses() throws Exception {
        for (int i = 0; i < 4; i++) {
            store(i);
        }
        Batch batch = outbox.claimArchive("archive", 4, HOUR);
        outbox.failed("archive", batch, new Archive.UnarchivableException("line break"));
        for (int i = 0; i < 4; i++) {
            Batch single = outbox.claimArchive("archive", 4, HOUR);
            assertEquals(1, single.size());
            if (single.items().get(0).messageId() == batch.items().get(2).messageId()) {
                outbox.failed("archive", single, new Archive.UnarchivableException("line break"));
            } else {
                outbox.delivered("archive", single);
            }
        }
        assertEquals(0, outbox.pending("archive"));
        assertTrue(outbox.claimArchive("archive", 4, 0).isEmpty());
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
        for (Batch batch = outbox.claimArchive("archive", 5000, 0); !batch.isEmpty(); batch = outbox.claimArchive("archive", 5000, 0)) {
            outbox.delivered("archive", batch);
        }
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
