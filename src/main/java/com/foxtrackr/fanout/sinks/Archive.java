package com.foxtrackr.fanout.sinks;

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

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.outbox.Batch;

/**
 * An archive sink's layout (a bean of sink-s3.yaml and sink-directory.yaml): turns a claimed batch into objects, gzip, one per hour of timeMs, under
 * prefix/yyyy/MM/dd/HH/(sink)-(batch id).ndjson.gz. Each line is one record:
 * {"key":…,"topic":…,"receivedMs":…,"payload":"(the payload's bytes in base64)"}, so that any payload (a line
 * break, CRLF, bytes that are not UTF-8) reads back exactly. Keys hold no value from a message, so no device id or
 * topic can change their structure; the batch id makes them deterministic.
 */
public class Archive {
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy/MM/dd/HH").withZone(ZoneOffset.UTC);
    private static final long HOUR_MS = 3_600_000;
    /** ASCII records: a topic's characters beyond ASCII are JSON escapes, which every reader decodes the same way. */
    private static final JsonFactory JSON = JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private String sink;
    private String prefix;

    public record ArchiveObject(String key, byte[] content, int count) {
    }

    public void setSink(String sink) {
        this.sink = sink;
    }

    String sink() {
        return sink;
    }

    public void setPrefix(String prefix) {
        this.prefix = prefix;
    }

    /** A key prefix that stays a plain relative path: no leading slash, no dot segments, no control characters. */
    public void check() {
        if (prefix.chars().anyMatch(c -> Character.isISOControl(c) || c == '\\')
                || List.of(prefix.split("/", -1)).stream().anyMatch(s -> s.isEmpty() || s.equals(".") || s.equals(".."))) {
            throw new ConfigException("fanout.sink." + sink + ".prefix", "is '" + prefix + "': use a relative path such as foxtrackr/raw");
        }
    }

    public List<ArchiveObject> objects(Batch batch) throws IOException {
        Map<Long, List<Batch.Item>> byHour = new TreeMap<>();
        for (Batch.Item item : batch.items()) {
            byHour.computeIfAbsent(Math.floorDiv(item.timeMs(), HOUR_MS), hour -> new ArrayList<>()).add(item);
        }
        List<ArchiveObject> objects = new ArrayList<>();
        for (Map.Entry<Long, List<Batch.Item>> hour : byHour.entrySet()) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
                for (Batch.Item item : hour.getValue()) {
                    record(item, gzip);
                }
            }
            objects.add(new ArchiveObject(prefix + "/" + HOUR.format(Instant.ofEpochMilli(hour.getKey() * HOUR_MS)) + "/" + sink + "-" + batch.id() + ".ndjson.gz",
                    bytes.toByteArray(), hour.getValue().size()));
        }
        return objects;
    }

    /** One line: the message's key, topic and receive time beside its payload, which base64 keeps byte for byte. */
    static void record(Batch.Item item, java.io.OutputStream out) throws IOException {
        try (JsonGenerator line = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            line.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            line.writeStartObject();
            line.writeStringField("key", item.key());
            line.writeStringField("topic", item.topic());
            line.writeNumberField("receivedMs", item.receivedMs());
            line.writeFieldName("payload");
            line.writeBinary(item.payload());
            line.writeEndObject();
        }
        out.write('\n');
    }
}
