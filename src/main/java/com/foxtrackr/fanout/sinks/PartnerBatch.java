package com.foxtrackr.fanout.sinks;

import java.io.ByteArrayOutputStream;

import org.apache.camel.Exchange;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.outbox.Batch;

/**
 * A partner's batch (a bean of sink-http-batch.yaml): the raw payloads of a batch joined in the partner's format,
 * a JSON array or NDJSON (one payload per line), with its Content-Type.
 */
public class PartnerBatch {
    private String sink;
    private String format;

    public void setSink(String sink) {
        this.sink = sink;
    }

    public void setFormat(String format) {
        this.format = format;
    }

    public void check() {
        if (!"json-array".equals(format) && !"ndjson".equals(format)) {
            throw new ConfigException("fanout.sink." + sink + ".format", "is '" + format + "': write json-array or ndjson");
        }
    }

    /** The batch's body: its payloads as they came, each a JSON document (ingest accepted only such). */
    public void join(Exchange exchange) {
        Batch batch = exchange.getMessage().getBody(Batch.class);
        boolean lines = "ndjson".equals(format);
        ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 8, batch.bytes() + batch.size() + 1));
        if (!lines) {
            body.write('[');
        }
        for (int i = 0; i < batch.size(); i++) {
            byte[] payload = batch.items().get(i).payload();
            if (lines) {
                // a line break can only be white space between a JSON document's tokens (within a string it is
                // escaped): a space in its place keeps the document and makes it one line
                body.write(oneLine(payload), 0, payload.length);
                body.write('\n');
            } else {
                if (i > 0) {
                    body.write(',');
                }
                body.write(payload, 0, payload.length);
            }
        }
        if (!lines) {
            body.write(']');
        }
        exchange.getMessage().setBody(body.toByteArray());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, lines ? "application/x-ndjson" : "application/json");
    }

    private static byte[] oneLine(byte[] payload) {
        byte[] line = null;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == '\n' || payload[i] == '\r') {
                if (line == null) {
                    line = payload.clone();
                }
                line[i] = ' ';
            }
        }
        return line == null ? payload : line;
    }
}
