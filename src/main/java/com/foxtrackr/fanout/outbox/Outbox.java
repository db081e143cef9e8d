package com.foxtrackr.fanout.outbox;

import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Message;

import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.observe.Metrics;

/**
 * The durable outbox as its users see it: ingest stores each accepted message once (and refused input with its
 * reason) before the broker is acknowledged; the outbox: component claims each sink's due deliveries and settles
 * what became of them, with retries, back-off and dead letters. {@link SqliteOutbox} keeps it in a local SQLite file.
 */
public interface Outbox extends AutoCloseable {

    /** The stable key of a message: the same payload is the same message, however often it is delivered. */
    static String key(byte[] payload) {
        return RepeatKeys.key(payload);
    }

    /** What ingest hands to the outbox: an accepted message, or a refused payload with its reason. */
    public record Incoming(byte[] payload, String topic, String kind, long messageType, String deviceId, long timeMs,
            String rejectReason) {

        public static Incoming accepted(Exchange exchange) {
            Message in = exchange.getMessage();
            return new Incoming(exchange.getProperty("payload", byte[].class), in.getHeader(MessageValidator.TOPIC, "", String.class),
                    in.getHeader(MessageValidator.KIND, String.class), in.getHeader(MessageValidator.MESSAGE_TYPE, Long.class),
                    in.getHeader(MessageValidator.DEVICE_ID, String.class), in.getHeader(MessageValidator.TIME_MS, Long.class), null);
        }

        public static Incoming rejected(Exchange exchange) {
            Exception cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
            byte[] payload = exchange.getProperty("payload", byte[].class);
            return new Incoming(payload == null ? new byte[0] : payload, exchange.getMessage().getHeader(MessageValidator.TOPIC, String.class),
                    null, 0, null, 0, cause == null ? "rejected" : MessageValidator.reason(cause));
        }
    }

    /** What became of one message of a per-message sink's batch. */
    public record Outcome(Batch.Item item, Result result, String reason, long retryAfterMs) {
        public enum Result { DELIVERED, RETRY, DEAD, POSTPONED }
    }

    void metrics(Metrics metrics);

    /** At start-up: the sinks whose routes will add them; once the last is added, ingest may store. */
    void expectSinks(Collection<String> names);

    /** A sink's route adds it as the route is made, before any route starts. */
    void addSink(Sink sink);

    Sink sink(String name);

    /** Once every sink is added: the places of new sinks are kept, and what a sink no longer configured had still to do. */
    void sinksConfigured() throws SQLException;

    /** Ingest: messages and refused input in one transaction; a repeat is stored once. */
    void storeAll(List<Incoming> batch) throws SQLException;

    /** A sink's due deliveries, oldest first; empty while the sink backs off or its circuit is open. */
    Batch claim(String sinkName, int max) throws SQLException;

    /** An archive's batch: the unfinished one, or a new one once full or its oldest message waited maxAgeMs. */
    Batch claimArchive(String sinkName, int max, long maxAgeMs) throws SQLException;

    void delivered(String sinkName, Batch batch) throws SQLException;

    /** Delivered but for the refused messages (id to reason), which go to the sink's dead letters. */
    void delivered(String sinkName, Batch batch, Map<Long, String> refused) throws SQLException;

    /** The batch failed: the sink backs off, and the batch is due again after that. */
    void failed(String sinkName, Batch batch, String reason) throws SQLException;

    /** Per-message sink, before its calls: each message held, due again after holdMs unless settled. */
    Batch hold(String sinkName, Batch batch, long holdMs) throws SQLException;

    /** Per-message sink: what became of each call, in one transaction. */
    void settle(String sinkName, Batch batch, Collection<Outcome> outcomes) throws SQLException;

    /** Forgets expired keys, dead letters and rejected input, and gives free space back. */
    void maintain() throws SQLException;

    long pending(String sinkName) throws SQLException;

    /** What waits, counted for health, metrics and the status page. */
    Backlog backlog() throws SQLException;

    /** The dead-letter queues of this outbox, for the HTTP API of the running bundle. */
    DeadLetters deadLetters();

    @Override
    void close() throws SQLException;
}
