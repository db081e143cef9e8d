package com.foxtrackr.fanout;

import java.io.IOException;
import java.net.URI;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.ParseException;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;

/**
 * The per-message sinks' calls and their outcomes. For an http sink: one POST per message, with the configured headers, {@code concurrency} at a time over as many
 * kept-alive connections; 2xx is delivered; a connection error, a timeout, 408, 429 and 5xx are retried
 * (honouring Retry-After); any other answer goes to the sink's dead-letter queue at once. An endpoint sink's
 * route calls its steps as processors, which read the sink's name from the exchange property "sink" and the
 * claimed delivery from "item".
 */
public class PartnerCalls implements AutoCloseable {
    /** How much of a refusing partner's answer the dead letter keeps as its reason. */
    private static final int MAX_ANSWER_CHARS = 4096;
    private static final ContentType JSON = ContentType.parse("application/json");
    private final Outbox outbox;
    private final Map<String, Partner> partners = new ConcurrentHashMap<>();

    /**
     * An http sink's partner. Its calls go straight to Apache HttpClient (the client camel-http wraps): a Camel
     * exchange and split per message cost about a third of the sink's CPU during a backlog drain.
     */
    private record Partner(URI url, Map<String, String> headers, CloseableHttpClient client, RequestConfig timeouts,
            int concurrency, ExecutorService calls, long holdMs, AtomicInteger inFlight, List<Outbox.Outcome> unsettled) {
    }

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

    /** An http sink: {@code calls} runs its calls, as many at once as it has threads. */
    void addPartner(String sink, String prefix, String url, Map<String, String> partnerHeaders, int connectTimeoutMs,
            int responseTimeoutMs, int concurrency, ExecutorService calls) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(prefix + "url", "is not a URL: " + e.getMessage());
        }
        if (!List.of("http", "https").contains(String.valueOf(uri.getScheme()).toLowerCase()) || uri.getHost() == null) {
            throw new ConfigException(prefix + "url", "must be an http:// or https:// URL with a host");
        }
        // the minimal client: no retries (the outbox retries, with back-off), redirects, cookies, authentication
        // or compression, which would only cost CPU on every call
        CloseableHttpClient client = HttpClients.createMinimal(PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(concurrency)
                .setMaxConnPerRoute(concurrency)
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setConnectTimeout(Timeout.ofMilliseconds(connectTimeoutMs))
                        .setSocketTimeout(Timeout.ofMilliseconds(responseTimeoutMs))
                        .build())
                .build());
        RequestConfig timeouts = RequestConfig.custom().setResponseTimeout(Timeout.ofMilliseconds(responseTimeoutMs)).build();
        // longer than any call can take: a held delivery is due again only if this process died during its call
        long holdMs = connectTimeoutMs + responseTimeoutMs + 5_000L;
        partners.put(sink, new Partner(uri, Map.copyOf(partnerHeaders), client, timeouts, concurrency, calls, holdMs,
                new AtomicInteger(), new java.util.ArrayList<>()));
    }

    /** The steps of sink-endpoint.yaml, registered under these names by FanoutSetup. */
    Map<String, Processor> steps() {
        return Map.of(
                "partnerEndpointRequest", this::endpointRequest,
                "partnerDelivered", exchange -> delivered(exchange, sink(exchange)),
                "partnerFailed", exchange -> failed(exchange, sink(exchange)));
    }

    /**
     * An http sink: holds the batch in the outbox (Outbox.hold), then calls its partner once for each message,
     * {@code concurrency} at a time: each of the sink's threads takes the batch's next message until none is left.
     * The outcomes are settled in groups of 2 x concurrency as the calls complete (and by the last call in flight),
     * so that a crash repeats no more than what was in flight or completed since the last group. Returns once every
     * message has a thread: the next batch is claimed while the last calls finish, so that a call that waits for
     * its timeout holds back one thread, not the sink.
     */
    public void deliver(String sinkName, Batch claimed) throws Exception {
        Partner partner = partners.get(sinkName);
        Sink sink = outbox.sink(sinkName);
        List<Batch.Item> items = outbox.hold(sinkName, claimed, partner.holdMs()).items();
        if (items.isEmpty()) {
            return;
        }
        AtomicInteger next = new AtomicInteger();
        java.util.concurrent.CountDownLatch handedOut = new java.util.concurrent.CountDownLatch(1);
        Runnable caller = () -> {
            for (int i = next.getAndIncrement(); i < items.size(); i = next.getAndIncrement()) {
                partner.inFlight().incrementAndGet();
                if (i == items.size() - 1) {
                    handedOut.countDown();
                }
                completed(sinkName, partner, call(partner, sink, items.get(i)));
            }
        };
        for (int thread = Math.min(partner.concurrency(), items.size()); thread > 0; thread--) {
            partner.calls().execute(caller);
        }
        while (!handedOut.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
            if (partner.calls().isShutdown()) {
                return; // stopping: what was not called stays held, and is due again after holdMs
            }
        }
    }

    /** One call's outcome: settled with the others of its group once the group is full or nothing is in flight. */
    private void completed(String sinkName, Partner partner, Outbox.Outcome outcome) {
        List<Outbox.Outcome> group = null;
        synchronized (partner.unsettled()) {
            partner.unsettled().add(outcome);
            int inFlight = partner.inFlight().decrementAndGet();
            if (partner.unsettled().size() >= 2 * partner.concurrency() || inFlight == 0) {
                group = List.copyOf(partner.unsettled());
                partner.unsettled().clear();
            }
        }
        if (group != null) {
            try {
                outbox.settle(sinkName, Batch.EMPTY, group);
            } catch (Exception e) {
                // the deliveries stay held: due again after holdMs, repeated rather than lost
                org.slf4j.LoggerFactory.getLogger(PartnerCalls.class).warn("sink={} event=settle-failed calls={} error=\"{}\"",
                        sinkName, group.size(), MessageValidator.reason(e));
            }
        }
    }

    private static Outbox.Outcome call(Partner partner, Sink sink, Batch.Item item) {
        if (!sink.mayCall()) {
            return new Outbox.Outcome(item, Outbox.Outcome.Result.POSTPONED, null, sink.circuitOpenMs());
        }
        HttpPost post = new HttpPost(partner.url());
        post.setConfig(partner.timeouts());
        post.setHeader("Idempotency-Key", item.key());
        partner.headers().forEach(post::setHeader);
        post.setEntity(new ByteArrayEntity(item.payload(), JSON));
        try {
            return partner.client().execute(post, response -> answered(sink, item, response));
        } catch (IOException | RuntimeException e) {
            String reason = MessageValidator.reason(e);
            sink.failedCall(reason);
            return new Outbox.Outcome(item, Outbox.Outcome.Result.RETRY, reason, 0);
        }
    }

    private static Outbox.Outcome answered(Sink sink, Batch.Item item, ClassicHttpResponse response) throws IOException {
        int status = response.getCode();
        if (status >= 200 && status < 300) {
            sink.succeeded();
            return new Outbox.Outcome(item, Outbox.Outcome.Result.DELIVERED, null, 0);
        }
        if (status == 408 || status == 429 || status >= 500) {
            sink.failedCall("HTTP " + status);
            Header retryAfter = response.getFirstHeader("Retry-After");
            return new Outbox.Outcome(item, Outbox.Outcome.Result.RETRY, "HTTP " + status,
                    retryAfterMs(retryAfter == null ? null : retryAfter.getValue()));
        }
        sink.answered();
        String answer;
        try {
            answer = response.getEntity() == null ? "" : EntityUtils.toString(response.getEntity(), MAX_ANSWER_CHARS);
        } catch (ParseException e) {
            answer = "";
        }
        return new Outbox.Outcome(item, Outbox.Outcome.Result.DEAD,
                "HTTP " + status + (answer.isBlank() ? "" : ": " + MessageValidator.reason(new Exception(answer))), 0);
    }

    /**
     * The check command's probe of an http sink: a HEAD to its URL through the sink's own client, with its headers
     * and token, as a call would be authorised; nothing is posted. What it proved, or why it fails.
     */
    String probe(String sinkName) throws IOException {
        Partner partner = partners.get(sinkName);
        org.apache.hc.client5.http.classic.methods.HttpHead head = new org.apache.hc.client5.http.classic.methods.HttpHead(partner.url());
        head.setConfig(partner.timeouts());
        partner.headers().forEach(head::setHeader);
        int status;
        try {
            status = partner.client().execute(head, ClassicHttpResponse::getCode);
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach " + withoutUserInfo(partner.url()) + ": " + MessageValidator.reason(e), e);
        }
        String asked = "HEAD " + withoutUserInfo(partner.url()) + " with the sink's headers" + (partner.headers().containsKey("Authorization")
                ? " and token" : "") + " answered " + status;
        if (status == 401 || status == 403) {
            throw new IllegalStateException(asked + ": the partner refuses the sink's credentials");
        }
        if (status >= 500) {
            throw new IllegalStateException(asked + ": the partner is failing");
        }
        return asked + ": reachable" + (status < 300 ? " and the credentials accepted" : ", the credentials not refused")
                + "; no message was posted, so whether it takes the payload is not proven";
    }

    private static String withoutUserInfo(URI url) {
        return org.apache.camel.util.URISupport.sanitizeUri(url.toString());
    }

    @Override
    public void close() throws IOException {
        for (Partner partner : partners.values()) {
            partner.client().close();
        }
    }

    private static String sink(Exchange exchange) {
        return exchange.getProperty("sink", String.class);
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
}
