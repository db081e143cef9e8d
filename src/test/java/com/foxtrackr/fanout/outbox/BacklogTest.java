package com.foxtrackr.fanout.outbox;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;


import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BacklogTest {
    Path file;
    Outbox outbox;
    Backlog backlog;

    @BeforeEach
    void open() throws Exception {
        file = Files.createTempDirectory("outbox").resolve("outbox.db");
        outbox = new SqliteOutbox(file, "NORMAL", 3_600_000, 3_600_000);
        outbox.addSink(new Sink("archive", SinkFilter.parse("", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        outbox.sinksConfigured();
        List<Outbox.Incoming> messages = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            messages.add(new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", "other", 7,
                    "d", i, null));
        }
        outbox.storeAll(messages);
        backlog = outbox.backlog();
    }

    @AfterEach
    void close() throws Exception {
        backlog.close();
        outbox.close();
    }

    // Health, metrics and the status page may ask many times a second: the outbox is counted once for all of them.
    @Test
    void should_count_once_however_often_asked() throws Exception {
        for (int i = 0; i < 1000; i++) {
            assertEquals(10, backlog.snapshot().sink("archive").pending());
        }
        assertTrue(backlog.counts() <= 2, backlog.counts() + " counts for 1,000 questions");
    }

    // A change shows at the next count, taken in the background while the callers get the last one.
    @Test
    void should_show_a_change_at_the_next_count() throws Exception {
        assertEquals(10, backlog.snapshot().sink("archive").pending());
        outbox.delivered("archive", outbox.claim("archive", 4));
        await().atMost(Duration.ofSeconds(10)).until(() -> backlog.snapshot().sink("archive").pending() == 6);
    }

    // The counts, taken from the ids beyond each sink's cursor, agree with the outbox's own view: a sink that
    // takes one kind, retries and dead letters, and the oldest pending message.
    @Test
    void should_count_what_each_sink_has_still_to_do() throws Exception {
        backlog.close();
        outbox.close();
        outbox = new SqliteOutbox(file, "NORMAL", 3_600_000, 3_600_000);
        outbox.addSink(new Sink("archive", SinkFilter.parse("", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        outbox.addSink(new Sink("acme", SinkFilter.parse("", "battery", null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
        outbox.sinksConfigured();
        List<Outbox.Incoming> messages = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            messages.add(new Outbox.Incoming(("{\"b\":" + i + "}").getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x",
                    i % 4 == 0 ? "other" : "battery", 7, "d", i, null));
        }
        outbox.storeAll(messages);
        Batch calls = outbox.claim("acme", 8);
        assertEquals(6, calls.size(), "a claim looks at 8 messages, 6 of them batteries");
        assertTrue(calls.full(), "and more wait: the sink claims again at once");
        outbox.settle("acme", calls, List.of(
                new Outbox.Outcome(calls.items().get(0), Outbox.Outcome.Result.DELIVERED, null, 0),
                new Outbox.Outcome(calls.items().get(1), Outbox.Outcome.Result.RETRY, "HTTP 503", 0),
                new Outbox.Outcome(calls.items().get(2), Outbox.Outcome.Result.DEAD, "HTTP 400", 0),
                new Outbox.Outcome(calls.items().get(3), Outbox.Outcome.Result.DELIVERED, null, 0),
                new Outbox.Outcome(calls.items().get(4), Outbox.Outcome.Result.DELIVERED, null, 0),
                new Outbox.Outcome(calls.items().get(5), Outbox.Outcome.Result.DELIVERED, null, 0)));
        outbox.delivered("archive", outbox.claim("archive", 3));
        backlog = outbox.backlog();
        Backlog.Snapshot counted = backlog.snapshot();
        // 10 "other" first, then 15 batteries of the 20: acme took 6 (one retry, one dead), the archive 3 of 20 + 10
        assertEquals(15 - 6 + 1, counted.sink("acme").pending());
        assertEquals(1, counted.sink("acme").dead());
        assertEquals(27, counted.sink("archive").pending());
        assertEquals(outbox.pending("acme"), counted.sink("acme").pending());
        assertEquals(outbox.pending("archive"), counted.sink("archive").pending());
        long retried = calls.items().get(1).messageId();
        try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
             var rs = db.createStatement().executeQuery("SELECT received_ms FROM message WHERE id = " + retried)) {
            assertEquals(rs.getLong(1), counted.sink("acme").oldestPendingReceivedMs());
        }
    }

    // A count of a large backlog is kept 20 times as long as it took: counting takes at most a twentieth of a core.
    @Test
    void should_keep_a_slow_count_longer() {
        Backlog.Snapshot quick = new Backlog.Snapshot(Map.of(), 0, 0, 10);
        assertFalse(quick.due(999));
        assertTrue(quick.due(1000));
        Backlog.Snapshot slow = new Backlog.Snapshot(Map.of(), 0, 0, 500);
        assertFalse(slow.due(9_999));
        assertTrue(slow.due(10_000));
    }
}
