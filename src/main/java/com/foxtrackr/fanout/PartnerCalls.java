package com.foxtrackr.fanout;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * The per-message sinks' side of a call: the configured headers on the way out, and on the way back the
 * outcome, which the outbox records for the whole batch at once. 2xx is delivered; a connection error, a timeout, 408, 429 and 5xx are retried
 * (honouring Retry-After); any other answer goes to the sink's dead-letter queue at once.
 * The routes call its steps as processors, one per step, since they run for every message; each reads the
 * sink's name from the exchange property "sink" and the claimed delivery from "item".
 */
public class PartnerCalls {
    private final Outbox outbox;
    private final Map<String, Map<String, String>> headers = new ConcurrentHashMap<>();

    public PartnerCalls(Outbox outbox) {
        this.outbox = outbox;
    }

    /** Parses "Name: value; Name2: value2" and the bearer token; nothing may break a header line. */
    static Map<String, String> headers(String prefix, String list, String bearerToken) {
        Map<String, String> result = new LinkedHashMap<>();
        if (list != null) {
            for (String header : list.split(";")) {
                if (header.isBlank()) {
                    continue;
                }
                int colon = header.indexOf(':');
                String name = colon < 0 ? "" : header.substring(0, colon).trim();
                if (!name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
                    throw new ConfigException(prefix + "headers", "has '" + header.trim() + "': write Name: value; Name2: value2");
                }
                result.put(name, checkValue(prefix + "headers", header.substring(colon + 1).trim()));
            }
        }
        if (bearerToken != null) {
            result.put("Authorization", "Bearer " + checkValue(prefix + "bearer-token", bearerToken));
        }
        return result;
    }

    private static String checkValue(String property, String value) {
        if (value.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f)) {
            throw new ConfigException(property, "contains a control character, which would break the HTTP header");
        }
        return value;
    }

    void addPartner(String sink, Map<String, String> partnerHeaders) {
        headers.put(sink, Map.copyOf(partnerHeaders));
    }

    /** The steps of sink-http.yaml and sink-endpoint.yaml, registered under these names by FanoutSetup. */
    Map<String, Processor> steps() {
        return Map.of(
                "partnerHttpRequest", this::httpRequest,
                "partnerEndpointRequest", this::endpointRequest,
                "partnerAnswered", exchange -> answered(exchange, sink(exchange)),
                "partnerDelivered", exchange -> delivered(exchange, sink(exchange)),
                "partnerFailed", exchange -> failed(exchange, sink(exchange)));
    }

    private static String sink(Exchange exchange) {
        return exchange.getProperty("sink", String.class);
    }

    /**
     * Before a call of an http sink: the claimed delivery (the body) becomes the request: its payload, with
     * Content-Type, its Idempotency-Key and the partner's headers; property mayCall says whether to call.
     */
    private void httpRequest(Exchange exchange) {
        String sink = sink(exchange);
        Batch.Item item = request(exchange, sink);
        Message message = exchange.getMessage();
        message.setHeader("Content-Type", "application/json");
        message.setHeader("Idempotency-Key", item.key());
        headers.getOrDefault(sink, Map.of()).forEach(message::setHeader);
    }

    /** Before a call of an endpoint sink: the payload, with Idempotency-Key, FanoutTopic and FanoutKind. */
    private void endpointRequest(Exchange exchange) {
        Batch.Item item = request(exchange, sink(exchange));
        Message message = exchange.getMessage();
        message.setHeader("Idempotency-Key", item.key());
        message.setHeader("FanoutTopic", item.topic());
        message.setHeader("FanoutKind", item.kind());
    }

    private Batch.Item request(Exchange exchange, String sink) {
        Batch.Item item = exchange.getMessage().getBody(Batch.Item.class);
        exchange.setProperty("item", item);
        Message message = exchange.getMessage();
        message.getHeaders().clear();
        message.setBody(item.payload());
        exchange.setProperty("mayCall", mayCall(exchange, sink));
        return item;
    }

    /** Where the outcomes of one claimed batch gather, from the parallel calls, until they are settled at once. */
    public Collection<Outbox.Outcome> newOutcomes() {
        return new ConcurrentLinkedQueue<>();
    }

    /** Before a call: false while the partner's circuit is open (the message then waits for the next probe). */
    private boolean mayCall(Exchange exchange, String sink) {
        Sink target = outbox.sink(sink);
        if (target.mayCall()) {
            return true;
        }
        record(exchange, Outbox.Outcome.Result.POSTPONED, null, target.circuitOpenMs());
        return false;
    }

    /** After an HTTP call that got an answer. */
    private void answered(Exchange exchange, String sink) {
        int status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        Sink target = outbox.sink(sink);
        if (status >= 200 && status < 300) {
            target.succeeded();
            record(exchange, Outbox.Outcome.Result.DELIVERED, null, 0);
        } else if (status == 408 || status == 429 || status >= 500) {
            target.failedCall("HTTP " + status);
            record(exchange, Outbox.Outcome.Result.RETRY, "HTTP " + status,
                    retryAfterMs(exchange.getMessage().getHeader("Retry-After", String.class)));
        } else {
            target.answered();
            record(exchange, Outbox.Outcome.Result.DEAD, "HTTP " + status + body(exchange), 0);
        }
    }

    /** After a call to any endpoint that returned. */
    private void delivered(Exchange exchange, String sink) {
        outbox.sink(sink).succeeded();
        record(exchange, Outbox.Outcome.Result.DELIVERED, null, 0);
    }

    /** After a call that failed without an answer: connection refused, timeout, an endpoint's error. */
    private void failed(Exchange exchange, String sink) {
        Exception error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        String reason = error == null ? "failed" : MessageValidator.reason(error);
        outbox.sink(sink).failedCall(reason);
        record(exchange, Outbox.Outcome.Result.RETRY, reason, 0);
    }

    @SuppressWarnings("unchecked")
    private static void record(Exchange exchange, Outbox.Outcome.Result result, String reason, long retryAfterMs) {
        exchange.getProperty("outcomes", Collection.class)
                .add(new Outbox.Outcome(exchange.getProperty("item", Batch.Item.class), result, reason, retryAfterMs));
    }

    /** Retry-After in seconds or as an HTTP date; 0 when absent or unreadable. */
    static long retryAfterMs(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Math.max(0, Long.parseLong(value.trim()) * 1000);
        } catch (NumberFormatException notSeconds) {
            try {
                return Math.max(0, ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli()
                        - System.currentTimeMillis());
            } catch (RuntimeException notDate) {
                return 0;
            }
        }
    }

    private static String body(Exchange exchange) {
        String body = exchange.getMessage().getBody(String.class);
        return body == null || body.isBlank() ? "" : ": " + MessageValidator.reason(new Exception(body));
    }
}
