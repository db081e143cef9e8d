package com.foxtrackr.fanout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads an archive object as a consumer would: gzip, one JSON record a line, the payload in base64. */
public final class ArchiveRecords {
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Record(String key, String topic, long receivedMs, byte[] payload) {
    }

    private ArchiveRecords() {
    }

    public static List<Record> read(byte[] gzip) throws IOException {
        byte[] content;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip))) {
            content = in.readAllBytes();
        }
        if (content.length == 0 || content[content.length - 1] != '\n') {
            throw new IllegalStateException("the object does not end with a line break");
        }
        List<Record> records = new ArrayList<>();
        for (String line : new String(content, java.nio.charset.StandardCharsets.US_ASCII).split("\n")) {
            JsonNode record = JSON.readTree(line);
            if (record.size() != 4) {
                throw new IllegalStateException("a record has key, topic, receivedMs and payload: " + line);
            }
            records.add(new Record(record.get("key").textValue(), record.get("topic").textValue(),
                    record.get("receivedMs").longValue(), Base64.getDecoder().decode(record.get("payload").textValue())));
        }
        return records;
    }

    /** The payloads of an archive object, byte for byte, in order. */
    public static List<byte[]> payloads(byte[] gzip) throws IOException {
        return read(gzip).stream().map(Record::payload).toList();
    }
}
