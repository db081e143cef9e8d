package com.foxtrackr.fanout.observe;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Outbox;
import com.foxtrackr.fanout.outbox.SqliteOutbox;
import com.foxtrackr.fanout.outbox.Sink;
import com.foxtrackr.fanout.outbox.SinkFilter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {

    // The first line after a start counts what was delivered since the start: a backlog that drains must not
    // read as "nothing delivered".
    @Test
    void should_count_the_deliveries_of_the_first_interval() throws Exception {
        Path file = Files.createTempDirectory("outbox").resolve("outbox.db");
        Metrics metrics = new Metrics(new SimpleMeterRegistry());
        try (Outbox outbox = new SqliteOutbox(file, "NORMAL", 3_600_000, 3_600_000);
             Backlog backlog = outbox.backlog()) {
            outbox.metrics(metrics);
            outbox.addSink(new Sink("archive", SinkFilter.parse("", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
            outbox.sinksConfigured();
            Progress progress = new Progress(backlog, metrics, List.of("archive"), outbox::sink, java.util.Map.of());
            List<Outbox.Incoming> messages = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                messages.add(new Outbox.Incoming(("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", "other", 7,
                        "d", i, null));
            }
            outbox.storeAll(messages);
            outbox.delivered("archive", outbox.claim("archive", 4));

            ListAppender<ILoggingEvent> lines = new ListAppender<>();
            lines.start();
            ((Logger) LoggerFactory.getLogger(Progress.class)).addAppender(lines);
            try {
                progress.report();
            } finally {
                ((Logger) LoggerFactory.getLogger(Progress.class)).detachAppender(lines);
            }
            assertEquals(1, lines.list.size());
            String line = lines.list.get(0).getFormattedMessage();
            assertTrue(line.startsWith("sink=archive event=draining pending=6 rate="), line);
            assertFalse(line.contains("rate=0/s") || line.contains("nothing delivered"), line);
        }
    }

    // An archive that waits for its batch to fill or age says so, instead of "draining rate=0/s"; a sink that
    // retries says it is stalled, and why.
    @Test
    void should_tell_waiting_for_a_batch_from_a_stalled_sink() throws Exception {
        Path file = Files.createTempDirectory("outbox").resolve("outbox.db");
        Metrics metrics = new Metrics(new SimpleMeterRegistry());
        try (Outbox outbox = new SqliteOutbox(file, "NORMAL", 3_600_000, 3_600_000);
             Backlog backlog = outbox.backlog()) {
            outbox.metrics(metrics);
            for (String name : List.of("archive", "influx")) {
                outbox.addSink(new Sink(name, SinkFilter.parse("", null, null), new Sink.Retry(60_000, 2, 60_000, 0, Long.MAX_VALUE), null));
            }
            outbox.sinksConfigured();
            outbox.storeAll(List.of(new Outbox.Incoming("{\"n\":1}".getBytes(StandardCharsets.UTF_8), "foxtrackr/g/V3.0/x", "other", 7,
                    "d", 1, null)));
            outbox.failed("influx", outbox.claim("influx", 10), "Connection refused");
            Progress progress = new Progress(backlog, metrics, List.of("archive", "influx"), outbox::sink,
                    java.util.Map.of("archive", new Progress.Batching(10_000, 60_000)));

            ListAppender<ILoggingEvent> lines = new ListAppender<>();
            lines.start();
            ((Logger) LoggerFactory.getLogger(Progress.class)).addAppender(lines);
            try {
                progress.report();
            } finally {
                ((Logger) LoggerFactory.getLogger(Progress.class)).detachAppender(lines);
            }
            List<String> text = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertEquals(2, text.size(), text.toString());
            assertTrue(text.get(0).matches("sink=archive event=waiting pending=1 next-batch-in=(1m0s|59s) \\(a batch is written at 10000"
                    + " payloads or when its oldest has waited 60000 ms\\)"), text.get(0));
            assertEquals("sink=influx event=stalled pending=1 state=retrying error=\"Connection refused\"", text.get(1));
        }
    }
}
