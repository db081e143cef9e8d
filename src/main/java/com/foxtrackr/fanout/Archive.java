package com.foxtrackr.fanout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

/**
 * Turns a claimed batch into archive objects: the raw payloads as received, one per line, gzip, one object
 * per hour of timeMs, under prefix/yyyy/MM/dd/HH/(sink)-(batch id).ndjson.gz. Keys hold no value from a
 * message, so no device id or topic can change their structure; the batch id makes them deterministic.
 */
public class Archive {
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy/MM/dd/HH").withZone(ZoneOffset.UTC);
    private static final long HOUR_MS = 3_600_000;

    public record ArchiveObject(String key, byte[] content, int count) {
    }

    /** A payload that cannot be stored one per line: it goes to the sink's dead-letter queue, alone. */
    public static class UnarchivableException extends Exception {
        public UnarchivableException(String reason) {
            super(reason);
        }
    }

    public List<ArchiveObject> objects(Batch batch, String prefix, String sinkName) throws IOException, UnarchivableException {
        Map<Long, List<byte[]>> byHour = new TreeMap<>();
        for (Batch.Item item : batch.items()) {
            for (byte b : item.payload()) {
                if (b == '\n' || b == '\r') {
                    throw new UnarchivableException("payload of message " + item.messageId()
                            + " contains a line break, so it cannot be archived one per line");
                }
            }
            byHour.computeIfAbsent(Math.floorDiv(item.timeMs(), HOUR_MS), hour -> new ArrayList<>()).add(item.payload());
        }
        List<ArchiveObject> objects = new ArrayList<>();
        for (Map.Entry<Long, List<byte[]>> hour : byHour.entrySet()) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
                for (byte[] payload : hour.getValue()) {
                    gzip.write(payload);
                    gzip.write('\n');
                }
            }
            objects.add(new ArchiveObject(prefix + "/" + HOUR.format(Instant.ofEpochMilli(hour.getKey() * HOUR_MS)) + "/" + sinkName + "-" + batch.id() + ".ndjson.gz",
                    bytes.toByteArray(), hour.getValue().size()));
        }
        return objects;
    }

    /** A key prefix that stays a plain relative path: no leading slash, no dot segments, no control characters. */
    static void checkPrefix(String property, String prefix) {
        if (prefix.chars().anyMatch(c -> Character.isISOControl(c) || c == '\\')
                || List.of(prefix.split("/", -1)).stream().anyMatch(s -> s.isEmpty() || s.equals(".") || s.equals(".."))) {
            throw new ConfigException(property, "is '" + prefix + "': use a relative path such as foxtrackr/raw");
        }
    }

    public static boolean isPermanent(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof UnarchivableException) {
                return true;
            }
        }
        return false;
    }
}
