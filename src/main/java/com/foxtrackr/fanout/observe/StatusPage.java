package com.foxtrackr.fanout.observe;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.foxtrackr.fanout.App;
import com.foxtrackr.fanout.config.Secrets;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Outbox;
import com.foxtrackr.fanout.outbox.Sink;
import com.foxtrackr.fanout.source.SourceState;

/**
 * The status page a person reads at a glance (GET /status, routes/status-page.yaml) and the JSON it polls
 * (GET /status.json): the mode, each broker source, each sink with its rate and backlog, and the outbox.
 * No secret reaches it: URLs lose their user info, and every text passes through {@link Secrets#redact}.
 */
public class StatusPage {
    /** Rates are averaged over at least this long (the newest sample at least this old is the base). */
    static final long RATE_WINDOW_MS = 5000;
    /** A rate over less time than this would only be noise: unknown until then. */
    static final long RATE_MIN_SPAN_MS = 900;

    public record Status(String mode, String version, long nowMs, long uptimeS, List<Source> sources, List<SinkStatus> sinks,
            Outbox outbox, Map<String, List<Point>> history) {
    }

    /** One point of a source's or sink's last 15 minutes: when, its rate since the point before, and its backlog. */
    public record Point(long timeMs, double perS, Long pending) {
    }

    /** state: connected, disconnected, or not-storing (connected, but the outbox refuses what arrives). */
    /** {@code heldBy}: with a shared outbox, the instance that consumes the source (null for an instance on its own). */
    public record Source(String name, String clientId, String topic, String url, String state, String reason, long received,
            Double receivedPerS, Long sinceLastMessageS, long reconnects, long notStored, String heldBy) {
    }

    /** state: up, retrying or circuit-open (with the reason); backlog figures are null when the outbox cannot be read. */
    public record SinkStatus(String name, String type, String where, String state, String reason, long delivered, Double deliveredPerS,
            long retried, long deadLettered, Long pending, Long oldestPendingAgeS, Long deadLetters) {
    }

    /** state: ok, not-storing (a source cannot store what arrives) or unreadable (its backlog cannot be read). */
    public record Outbox(String state, String reason, String file, Long sizeBytes, long stored, long repeated, long rejected,
            Long rejectedKept, Long countedAgoS) {
    }

    private record SourceEntry(String name, String topic, SourceState state) {
    }

    private record SinkEntry(String name, String type, Sink sink) {
    }

    private record Sample(long timeMs, Map<String, Long> counts) {
    }

    private final Backlog backlog;
    private final Metrics metrics;
    /** Where the outbox is (a file, or PostgreSQL's URL), and its file when it is one (null for PostgreSQL). */
    private final String outboxWhere;
    private final Path outboxFile;
    private final List<SourceEntry> sources = new ArrayList<>();
    private final List<SinkEntry> sinks = new ArrayList<>();
    private final Deque<Sample> samples = new ArrayDeque<>();
    /** 15 minutes of points, one every 10 seconds. */
    static final int HISTORY_POINTS = 90;
    private final Map<String, Deque<Point>> history = new java.util.LinkedHashMap<>();
    private Sample lastRecord;
    private volatile String mode = "";
    private volatile String html;

    public StatusPage(Backlog backlog, Metrics metrics, String outboxWhere, Path outboxFile) {
        this.backlog = backlog;
        this.metrics = metrics;
        this.outboxWhere = outboxWhere;
        this.outboxFile = outboxFile;
    }

    /** What the bundle takes its messages from, as the page's header shows it: "broker: tcp://host:1883". */
    public void mode(String mode) {
        this.mode = mode;
    }

    public synchronized void source(String name, String topic, SourceState state) {
        sources.add(new SourceEntry(name, topic, state));
    }

    public synchronized void sink(String name, String type, Sink sink) {
        sinks.add(new SinkEntry(name, type, sink));
    }

    /** The page itself: one HTML file with its script, from the jar. */
    public String html() throws IOException {
        if (html == null) {
            try (InputStream in = StatusPage.class.getResourceAsStream("/status.html")) {
                if (in == null) {
                    throw new IOException("status.html is missing from the jar");
                }
                html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        return html;
    }

    /** What /status.json answers. */
    public synchronized Status status() {
        long now = System.currentTimeMillis();
        Map<String, Long> counts = new HashMap<>();
        for (SourceEntry source : sources) {
            counts.put("source:" + source.name(), source.state().received.get());
        }
        for (SinkEntry sink : sinks) {
            counts.put("sink:" + sink.name(), metrics.outcomes(sink.name(), "delivered"));
        }
        Map<String, Double> rates = rates(now, counts);

        Backlog.Snapshot waiting = null;
        String unreadable = null;
        try {
            waiting = backlog.snapshot();
        } catch (Exception e) {
            unreadable = MessageValidator.reason(e);
        }

        List<Source> sourceStatus = new ArrayList<>();
        String notStoring = null;
        for (SourceEntry entry : sources) {
            SourceState s = entry.state();
            String storeError = s.storeError;
            String state = s.standby ? "standby" : !s.connected ? "disconnected" : storeError != null ? "not-storing" : "connected";
            String reason = s.standby ? "consumed by " + (s.heldBy == null ? "another instance" : s.heldBy)
                    : !s.connected ? s.connectionError : storeError;
            if (storeError != null && notStoring == null) {
                notStoring = storeError;
            }
            long last = s.lastMessageMs;
            sourceStatus.add(new Source(entry.name(), s.clientId, entry.topic(), withoutUserInfo(s.url), state, Secrets.redact(reason),
                    s.received.get(), rates.get("source:" + entry.name()), last > 0 ? Math.max(0, now - last) / 1000 : null,
                    s.reconnects.get(), s.notStored.get(), s.heldBy));
        }

        List<SinkStatus> sinkStatus = new ArrayList<>();
        for (SinkEntry entry : sinks) {
            String state = entry.sink().state();
            Backlog.Sink b = waiting == null ? null : waiting.sink(entry.name());
            sinkStatus.add(new SinkStatus(entry.name(), entry.type(), Secrets.redact(entry.sink().where()), state,
                    "up".equals(state) ? null : Secrets.redact(entry.sink().lastError()),
                    metrics.outcomes(entry.name(), "delivered"), rates.get("sink:" + entry.name()),
                    metrics.outcomes(entry.name(), "retried"), metrics.outcomes(entry.name(), "dead-lettered"),
                    b == null ? null : b.pending(),
                    b == null || b.oldestPendingReceivedMs() == 0 ? null : Math.max(0, now - b.oldestPendingReceivedMs()) / 1000,
                    b == null ? null : b.dead()));
        }

        String outboxState = notStoring != null ? "not-storing" : unreadable != null ? "unreadable" : "ok";
        Outbox outbox = new Outbox(outboxState, Secrets.redact(notStoring != null ? notStoring : unreadable),
                outboxWhere, outboxFile == null ? null : size(outboxFile), metrics.count("fanout.messages.stored"),
                metrics.count("fanout.messages.repeated"), metrics.count("fanout.messages.rejected"),
                waiting == null ? null : waiting.rejected(), waiting == null ? null : Math.max(0, now - waiting.takenMs()) / 1000);
        long uptimeS = ManagementFactory.getRuntimeMXBean().getUptime() / 1000;
        Map<String, List<Point>> lastMinutes = new java.util.LinkedHashMap<>();
        history.forEach((key, points) -> lastMinutes.put(key, List.copyOf(points)));
        return new Status(Secrets.redact(mode), App.version(), now, uptimeS, sourceStatus, sinkStatus, outbox, lastMinutes);
    }

    /**
     * Adds a point to each source's and sink's history (routes/status-page.yaml calls it every 10 seconds): the
     * rate since the last point, from the counts the bundle keeps, and the backlog; 15 minutes are kept.
     */
    public synchronized void record() {
        long now = System.currentTimeMillis();
        Backlog.Snapshot waiting = null;
        try {
            waiting = backlog.snapshot();
        } catch (Exception e) {
            // the backlog is unknown at this point; the rates are not
        }
        Map<String, Long> counts = new HashMap<>();
        Map<String, Long> pending = new HashMap<>();
        for (SourceEntry source : sources) {
            counts.put("source:" + source.name(), source.state().received.get());
        }
        for (SinkEntry sink : sinks) {
            counts.put("sink:" + sink.name(), metrics.outcomes(sink.name(), "delivered"));
            pending.put("sink:" + sink.name(), waiting == null ? null : waiting.sink(sink.name()).pending());
        }
        if (lastRecord != null) {
            double seconds = Math.max(0.001, (now - lastRecord.timeMs()) / 1000.0);
            counts.forEach((key, count) -> {
                Deque<Point> points = history.computeIfAbsent(key, k -> new ArrayDeque<>());
                points.addLast(new Point(now, Math.max(0, count - lastRecord.counts().getOrDefault(key, count)) / seconds, pending.get(key)));
                while (points.size() > HISTORY_POINTS) {
                    points.removeFirst();
                }
            });
        }
        lastRecord = new Sample(now, counts);
    }

    /**
     * Per second, from successive samples: the base is the newest sample at least RATE_WINDOW_MS old (or the
     * oldest there is), so that a page polling every second shows a rate over about five seconds. A sample is
     * taken on each call, at most four a second.
     */
    public Map<String, Double> rates(long now, Map<String, Long> counts) {
        if (samples.isEmpty() || now - samples.peekLast().timeMs() >= 250) {
            samples.addLast(new Sample(now, counts));
        }
        while (samples.size() > 1 && now - second(samples).timeMs() >= RATE_WINDOW_MS) {
            samples.removeFirst();
        }
        Sample base = samples.peekFirst();
        Map<String, Double> rates = new HashMap<>();
        long span = now - base.timeMs();
        if (span < RATE_MIN_SPAN_MS) {
            return rates;
        }
        counts.forEach((key, count) -> {
            Long before = base.counts().get(key);
            if (before != null) {
                rates.put(key, Math.max(0, count - before) * 1000.0 / span);
            }
        });
        return rates;
    }

    private static Sample second(Deque<Sample> samples) {
        var it = samples.iterator();
        it.next();
        return it.next();
    }

    /** A URL without user name and password ("tcp://user:secret@host:1883" is "tcp://host:1883"), and with secrets masked. */
    public static String withoutUserInfo(String url) {
        if (url == null || url.isEmpty()) {
            return url;
        }
        try {
            URI uri = new URI(url);
            if (uri.getRawUserInfo() != null) {
                uri = new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), uri.getQuery(), uri.getFragment());
            }
            return Secrets.redact(uri.toString());
        } catch (URISyntaxException e) {
            int at = url.lastIndexOf('@');
            int scheme = url.indexOf("://");
            return Secrets.redact(at > scheme && scheme >= 0 ? url.substring(0, scheme + 3) + url.substring(at + 1) : url);
        }
    }

    /** The outbox's size on disk, its write-ahead log included; null when it cannot be read. */
    private static Long size(Path file) {
        try {
            Path wal = file.resolveSibling(file.getFileName() + "-wal");
            return Files.size(file) + (Files.exists(wal) ? Files.size(wal) : 0);
        } catch (IOException e) {
            return null;
        }
    }
}
