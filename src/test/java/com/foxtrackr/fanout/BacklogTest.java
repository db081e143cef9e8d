package com.foxtrackr.fanout;

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
        outbox = new Outbox(file, "NORMAL", 3_600_000, 3_600_000);
        outbox.addSink(new Sink("archive", SinkFilter.parse("", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE),
                Archive::isPermanent, null));
        outbox.sinksConfigured();
        List<Outbox.Incoming> messages = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            messages.add(new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", "other", 7,
                    "d", i, null));
        }
        outbox.storeAll(messages);
        backlog = new Backlog(file);
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
