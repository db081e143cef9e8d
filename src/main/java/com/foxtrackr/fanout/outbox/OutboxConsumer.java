package com.foxtrackr.fanout.outbox;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.apache.camel.spi.ExceptionHandler;
import org.apache.camel.spi.PollingConsumerPollStrategy;
import org.apache.camel.support.ScheduledPollConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * Claims a sink's due deliveries and hands them to its route. Per batch: one exchange whose body is the
 * {@link Batch} (or, with maxBytes, one per part of the batch); it completes, and the batch is delivered (but for the
 * messages listed in the exchange property {@value #REFUSED}, which go to the dead letters), or it fails, and the
 * sink backs off; a part refused for good is split in halves until the refused messages are found. Per message: the batch
 * is held in the outbox, then each message is an exchange of its own, {@code concurrency} at a time; the
 * outcomes are settled in groups as they complete, and the next batch is claimed while the last calls run.
 * A failure is retried with the sink's back-off unless it is final: {@link DeliveryRefused}, or an HTTP answer
 * 4xx other than 408 and 429.
 */
public class OutboxConsumer extends ScheduledPollConsumer {
    private static final Logger LOG = LoggerFactory.getLogger(OutboxConsumer.class);
    /** Per batch: the exchange property of the messages a sink refused (message id to reason). */
    public static final String REFUSED = "FanoutRefused";
    /** How much of a refusing partner's answer the dead letter keeps as its reason. */
    private static final int MAX_ANSWER_CHARS = 4096;

    private final OutboxEndpoint endpoint;
    private final Outbox store;
    private final String sinkName;
    /** Per message: the calls, and the messages in them, which a claim passes over. */
    private ExecutorService calls;
    private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicInteger running = new AtomicInteger();
    private final List<Outbox.Outcome> unsettled = new ArrayList<>();

    OutboxConsumer(OutboxEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.endpoint = endpoint;
        this.store = endpoint.getComponent().store();
        this.sinkName = endpoint.sinkName();
        StoreTrouble trouble = new StoreTrouble();
        setPollStrategy(trouble);
        setExceptionHandler(trouble);
    }

    /**
     * A poll fails when the outbox cannot be read or written (PostgreSQL down, a full disk): said once when it
     * starts and once when it ends, where Camel would warn at every poll of every sink (the consumer's exception
     * handler is given every failed poll that its strategy does not retry at once).
     */
    private final class StoreTrouble implements PollingConsumerPollStrategy, ExceptionHandler {
        private String error;

        @Override
        public boolean begin(Consumer consumer, Endpoint endpoint) {
            return true;
        }

        @Override
        public void commit(Consumer consumer, Endpoint endpoint, int polledMessages) {
            if (error != null) {
                error = null;
                LOG.info("sink={} state=outbox-working", sinkName);
            }
        }

        @Override
        public boolean rollback(Consumer consumer, Endpoint endpoint, int retryCounter, Exception cause) {
            String reason = MessageValidator.reason(cause);
            if (error == null) {
                LOG.warn("sink={} state=outbox-failing error=\"{}\" note=\"tried again at every poll; nothing is lost\"", sinkName, reason);
            }
            error = reason;
            return false; // tried again at the next poll
        }

        @Override
        public void handleException(Throwable exception) {
            handleException(null, null, exception);
        }

        @Override
        public void handleException(String message, Throwable exception) {
            handleException(message, null, exception);
        }

        @Override
        public void handleException(String message, Exchange exchange, Throwable exception) {
            LOG.debug("sink={} {}", sinkName, message, exception); // said by rollback, once
        }
    }

    @Override
    protected void doStart() throws Exception {
        if (endpoint.perMessage()) {
            calls = getEndpoint().getCamelContext().getExecutorServiceManager()
                    .newFixedThreadPool(this, "sink-" + sinkName, endpoint.getConcurrency());
        }
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        if (calls != null) {
            // what was not called yet stays held in the outbox, due again after holdMs
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(calls);
        }
    }

    /** What was claimed: 0 when the sink has caught up (it looks again after lingerMs), else at once. */
    @Override
    protected int poll() throws Exception {
        return endpoint.perMessage() ? pollMessages() : pollBatch();
    }

    private int pollBatch() throws Exception {
        Batch batch = endpoint.getMaxAgeMs() > 0
                ? store.claimArchive(sinkName, endpoint.getBatchSize(), endpoint.getMaxAgeMs())
                : store.claim(sinkName, endpoint.getBatchSize());
        if (batch.isEmpty()) {
            return 0;
        }
        batch = batch.inMessageOrder();
        Map<Long, String> refused = new HashMap<>();
        Exception error = null;
        for (Batch part : parts(batch)) {
            error = deliverPart(part, refused);
            if (error != null) {
                break;
            }
        }
        if (error == null) {
            store.delivered(sinkName, batch, refused);
        } else {
            // a part already delivered is sent again with the batch: the same parts, so the same keys
            String status = httpStatus(error);
            store.failed(sinkName, batch, status != null ? status : MessageValidator.reason(innermost(error)));
            endpoint.sink().pauseAtLeast(retryAfterMs(error), System.currentTimeMillis());
            return 0;
        }
        return batch.full() ? batch.size() : 0;
    }

    /**
     * The batch in consecutive parts whose payloads, joined with a byte between and around them (a JSON array,
     * lines), take at most maxBytes (a larger message alone); the batch itself without maxBytes.
     */
    private List<Batch> parts(Batch batch) {
        long maxBytes = endpoint.getMaxBytes();
        if (maxBytes == 0 || batch.bytes() + batch.size() + 1 <= maxBytes) {
            return List.of(batch);
        }
        List<Batch> parts = new ArrayList<>();
        List<Batch.Item> part = new ArrayList<>();
        long bytes = 1;
        for (Batch.Item item : batch.items()) {
            if (!part.isEmpty() && bytes + item.payload().length + 1 > maxBytes) {
                parts.add(Batch.part(part));
                part = new ArrayList<>();
                bytes = 1;
            }
            part.add(item);
            bytes += item.payload().length + 1;
        }
        parts.add(Batch.part(part));
        return parts;
    }

    /**
     * One exchange for the part; a part the sink refuses is split in halves until each refused message is alone
     * (its own refusal is its reason in the dead letters), so that no message is dead-lettered for its neighbour.
     * Returns the error worth retrying that stopped it, or null when every message was delivered or refused.
     */
    private Exception deliverPart(Batch part, Map<Long, String> refused) throws Exception {
        Exchange exchange = createExchange(false);
        try {
            exchange.getMessage().setBody(part);
            exchange.getMessage().setHeader("FanoutSink", sinkName);
            getProcessor().process(exchange);
            Exception error = exchange.getException();
            if (error == null) {
                @SuppressWarnings("unchecked")
                Map<Long, String> refusedByRoute = exchange.getProperty(REFUSED, Map.of(), Map.class);
                refused.putAll(refusedByRoute);
                return null;
            }
            String refusal = refusal(error);
            if (refusal == null) {
                return error;
            }
            if (part.size() == 1) {
                refused.put(part.items().get(0).messageId(), refusal);
                return null;
            }
            LOG.warn("sink={} event=batch-refused items={} reason=\"{}\" note=\"split in halves to find the refused messages\"",
                    sinkName, part.size(), refusal);
        } finally {
            releaseExchange(exchange, false);
        }
        int half = part.size() / 2;
        Exception error = deliverPart(Batch.part(part.items().subList(0, half)), refused);
        return error != null ? error : deliverPart(Batch.part(part.items().subList(half, part.size())), refused);
    }

    /**
     * Holds the batch in the outbox (a crash repeats at most what was in flight), then gives each message to one
     * of the sink's threads; returns once every message has a thread.
     */
    private int pollMessages() throws Exception {
        Batch claimed = store.claim(sinkName, endpoint.getBatchSize());
        if (claimed.isEmpty()) {
            return 0;
        }
        // a call that outlasts its hold is due again in the outbox, but still running here: not twice at once
        Batch fresh = new Batch(claimed.id(), claimed.items().stream().filter(i -> !inFlight.contains(i.messageId())).toList(),
                claimed.full(), claimed.through());
        List<Batch.Item> items = store.hold(sinkName, fresh, endpoint.getHoldMs()).items();
        if (items.isEmpty()) {
            return 0;
        }
        items.forEach(item -> inFlight.add(item.messageId()));
        AtomicInteger next = new AtomicInteger();
        CountDownLatch handedOut = new CountDownLatch(1);
        Runnable caller = () -> {
            for (int i = next.getAndIncrement(); i < items.size(); i = next.getAndIncrement()) {
                running.incrementAndGet();
                if (i == items.size() - 1) {
                    handedOut.countDown();
                }
                Batch.Item item = items.get(i);
                try {
                    completed(deliver(item));
                } finally {
                    inFlight.remove(item.messageId());
                }
            }
        };
        for (int thread = Math.min(endpoint.getConcurrency(), items.size()); thread > 0; thread--) {
            calls.execute(caller);
        }
        while (!handedOut.await(1, TimeUnit.SECONDS)) {
            if (calls.isShutdown() || !isRunAllowed()) {
                return 0; // stopping: what was not called stays held, and is due again after holdMs
            }
        }
        return claimed.full() ? items.size() : 0;
    }

    /** One message through the route: delivered if the exchange completes. */
    private Outbox.Outcome deliver(Batch.Item item) {
        Sink sink = endpoint.sink();
        if (!sink.mayCall()) {
            return new Outbox.Outcome(item, Outbox.Outcome.Result.POSTPONED, null, sink.circuitOpenMs());
        }
        Exchange exchange = createExchange(false);
        try {
            Message message = exchange.getMessage();
            message.setBody(item.payload());
            message.setHeader("Idempotency-Key", item.key());
            message.setHeader("FanoutSink", sinkName);
            message.setHeader("FanoutTopic", item.topic());
            message.setHeader("FanoutKind", item.kind());
            try {
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            }
            Exception error = exchange.getException();
            if (error == null) {
                sink.succeeded();
                return new Outbox.Outcome(item, Outbox.Outcome.Result.DELIVERED, null, 0);
            }
            String refusal = refusal(error);
            if (refusal != null) {
                sink.answered();
                return new Outbox.Outcome(item, Outbox.Outcome.Result.DEAD, refusal, 0);
            }
            String reason = reason(error);
            sink.failedCall(reason);
            return new Outbox.Outcome(item, Outbox.Outcome.Result.RETRY, reason, retryAfterMs(error));
        } finally {
            releaseExchange(exchange, false);
        }
    }

    /** One call's outcome: settled with the others of its group once the group is full or nothing is running. */
    private void completed(Outbox.Outcome outcome) {
        List<Outbox.Outcome> group = null;
        synchronized (unsettled) {
            unsettled.add(outcome);
            if (running.decrementAndGet() == 0 || unsettled.size() >= 2 * endpoint.getConcurrency()) {
                group = List.copyOf(unsettled);
                unsettled.clear();
            }
        }
        if (group != null) {
            try {
                store.settle(sinkName, Batch.EMPTY, group);
            } catch (Exception e) {
                // the deliveries stay held: due again after holdMs, repeated rather than lost
                LOG.warn("sink={} event=settle-failed calls={} error=\"{}\"", sinkName, group.size(), MessageValidator.reason(e));
            }
        }
    }

    /** Why a delivery is refused for good (a dead letter at once), or null if it is worth retrying. */
    static String refusal(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof DeliveryRefused) {
                return MessageValidator.reason(t);
            }
            if (t instanceof HttpOperationFailedException http && !retryable(http.getStatusCode())) {
                String answer = http.getResponseBody() == null ? "" : http.getResponseBody();
                answer = answer.substring(0, Math.min(answer.length(), MAX_ANSWER_CHARS));
                return "HTTP " + http.getStatusCode() + (answer.isBlank() ? "" : ": " + MessageValidator.reason(new Exception(answer)));
            }
        }
        return null;
    }

    private static boolean retryable(int status) {
        return status == 408 || status == 429 || status >= 500;
    }

    private static String reason(Throwable error) {
        String status = httpStatus(error);
        return status != null ? status : MessageValidator.reason(error);
    }

    /** "HTTP 503" for an HTTP answer, else null. */
    private static String httpStatus(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof HttpOperationFailedException http) {
                return "HTTP " + http.getStatusCode();
            }
        }
        return null;
    }

    /** Wrappers repeat their cause's text: the reason is the innermost error that says something. */
    private static Throwable innermost(Throwable error) {
        Throwable found = error;
        for (Throwable t = error.getCause(); t != null && t != found; t = t.getCause()) {
            if (t.getMessage() != null) {
                found = t;
            }
        }
        return found;
    }

    private static long retryAfterMs(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof HttpOperationFailedException http && http.getResponseHeaders() != null) {
                return http.getResponseHeaders().entrySet().stream().filter(h -> h.getKey().equalsIgnoreCase("Retry-After"))
                        .mapToLong(h -> retryAfterMs(h.getValue())).findFirst().orElse(0);
            }
        }
        return 0;
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
