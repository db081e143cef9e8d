package com.foxtrackr.fanout.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.apache.camel.AsyncCallback;
import org.apache.camel.AsyncProcessor;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.outbox.Outbox;

/**
 * Group commit for ingest: messages from the MQTT callback threads wait in a queue, and one thread stores
 * whatever has gathered in a single transaction; only then does each exchange complete, and so only then
 * is each message acknowledged to the broker. While one commit runs the next group gathers: one commit
 * per group instead of one per message.
 */
public class OutboxWriter {
    private static final Logger LOG = LoggerFactory.getLogger(OutboxWriter.class);
    private static final int MAX_GROUP = 1000;

    private record Pending(Outbox.Incoming message, Exchange exchange, AsyncCallback callback) {
    }

    private final Outbox outbox;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread thread = new Thread(this::run, "outbox-writer");
    private volatile boolean running = true;

    public OutboxWriter(Outbox outbox) {
        this.outbox = outbox;
        thread.setDaemon(true);
        thread.start();
    }

    /** The ingest route's step for an accepted message. */
    public AsyncProcessor storeAccepted() {
        return step(Outbox.Incoming::accepted);
    }

    /** The ingest route's step for a refused payload (in doCatch: the reason is the caught exception). */
    public AsyncProcessor storeRejected() {
        return step(Outbox.Incoming::rejected);
    }

    private AsyncProcessor step(Function<Exchange, Outbox.Incoming> read) {
        return new AsyncProcessorSupport() {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                if (!running) {
                    exchange.setException(new IllegalStateException("the outbox is closed"));
                    callback.done(true);
                    return true;
                }
                queue.add(new Pending(read.apply(exchange), exchange, callback));
                return false;
            }
        };
    }

    private void run() {
        List<Pending> group = new ArrayList<>();
        List<Outbox.Incoming> messages = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                group.add(first);
                queue.drainTo(group, MAX_GROUP - 1);
                group.forEach(p -> messages.add(p.message()));
                try {
                    outbox.storeAll(messages);
                } catch (Exception e) {
                    // each source says so once, with what it does about it (MqttSourceComponent)
                    LOG.debug("outbox state=failed messages={} error=\"{}\"", group.size(), MessageValidator.reason(e));
                    group.forEach(p -> p.exchange().setException(e));
                }
                group.forEach(p -> p.callback().done(false));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                group.clear();
                messages.clear();
            }
        }
    }

    /** Stores what is queued, then stops. */
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
    }
}
