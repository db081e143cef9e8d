package com.foxtrackr.fanout.outbox;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;

import com.foxtrackr.fanout.config.ConfigException;

/**
 * {@code outbox:<sink>}: one sink's deliveries. Its options declare the sink: which messages it takes, whether the
 * route gets one exchange per message ({@code delivery=message}, {@code concurrency} in flight) or one per batch
 * (the {@link Batch} as the body; with {@code maxBytes}, one per part of the batch that joined fits in so many
 * bytes), and how a failed delivery is retried. A wrong value fails the start naming
 * the sink's property ({@code fanout.sink.<name>.<option>}, the option in kebab case).
 */
public class OutboxEndpoint extends DefaultEndpoint {
    private final String sinkName;
    private String delivery = "batch";
    private int batchSize = 100;
    private long lingerMs = 200;
    private long maxAgeMs;
    private long maxBytes;
    private int concurrency = 4;
    private long holdMs = 20_000;
    private String kinds;
    private String topics;
    private String target = "";
    private long retryInitialDelayMs = 1_000;
    private double retryMultiplier = 2.0;
    private long retryMaxDelayMs = 60_000;
    private int retryMaxAttempts;
    private long retryMaxAgeMs = Long.MAX_VALUE;
    private int circuitFailureRatePercent;
    private int circuitMinimumCalls = 100;
    private long circuitOpenMs = 30_000;
    private Sink sink;

    OutboxEndpoint(String uri, OutboxComponent component, String sinkName) {
        super(uri, component);
        this.sinkName = sinkName;
    }

    @Override
    public OutboxComponent getComponent() {
        return (OutboxComponent) super.getComponent();
    }

    String sinkName() {
        return sinkName;
    }

    Sink sink() {
        return sink;
    }

    boolean perMessage() {
        return "message".equals(delivery);
    }

    /** The sink joins the outbox when its route is created, before any route starts: ingest stores for it from the first message. */
    @Override
    protected void doInit() throws Exception {
        super.doInit();
        if (!"message".equals(delivery) && !"batch".equals(delivery)) {
            throw new ConfigException(property("delivery"), "is '" + delivery + "': write message or batch");
        }
        check("batchSize", batchSize, 1, 1_000_000);
        check("lingerMs", lingerMs, 1, 86_400_000);
        check("maxBytes", maxBytes, 0, 1L << 30);
        check("concurrency", concurrency, 1, 256);
        check("holdMs", holdMs, 1_000, 86_400_000);
        check("retryInitialDelayMs", retryInitialDelayMs, 1, 3_600_000);
        check("retryMaxDelayMs", retryMaxDelayMs, 1, 86_400_000);
        check("retryMaxAttempts", retryMaxAttempts, 0, 1_000_000);
        check("retryMaxAgeMs", retryMaxAgeMs, 1, Long.MAX_VALUE);
        if (retryMultiplier < 1 || retryMultiplier > 10) {
            throw new ConfigException(property("retryMultiplier"), "is " + retryMultiplier + ": give a number from 1 to 10");
        }
        Sink.Circuit circuit = null;
        if (circuitFailureRatePercent > 0) {
            check("circuitFailureRatePercent", circuitFailureRatePercent, 1, 100);
            check("circuitMinimumCalls", circuitMinimumCalls, 1, 10_000);
            check("circuitOpenMs", circuitOpenMs, 1, 86_400_000);
            circuit = new Sink.Circuit(circuitFailureRatePercent, circuitMinimumCalls, circuitOpenMs);
        }
        String prefix = "fanout.sink." + sinkName + ".";
        sink = new Sink(sinkName, SinkFilter.parse(prefix, kinds, topics),
                new Sink.Retry(retryInitialDelayMs, retryMultiplier, retryMaxDelayMs, retryMaxAttempts, retryMaxAgeMs), circuit);
        sink.target(org.apache.camel.util.URISupport.sanitizeUri(target));
        getComponent().store().addSink(sink);
    }

    private void check(String option, long value, long min, long max) {
        if (value < min || value > max) {
            throw new ConfigException(property(option), "is " + value + ": give a whole number from " + min + " to " + max);
        }
    }

    /** The sink's property an option comes from, by the templates' convention: retryMaxAttempts is retry.max-attempts. */
    private String property(String option) {
        String kebab = option.replaceAll("([A-Z])", "-$1").toLowerCase();
        return "fanout.sink." + sinkName + "." + kebab.replaceFirst("^(retry|circuit)-", "$1.");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        OutboxConsumer consumer = new OutboxConsumer(this, processor);
        configureConsumer(consumer);
        // a caught-up sink looks again after lingerMs; while batches come back full it claims the next at once
        consumer.setDelay(lingerMs);
        consumer.setInitialDelay(0);
        consumer.setGreedy(true);
        return consumer;
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("outbox:" + sinkName + " is where a sink's route starts (from:), not a destination");
    }

    public void setDelivery(String delivery) {
        this.delivery = delivery;
    }

    public String getDelivery() {
        return delivery;
    }

    public void setBatchSize(int batchSize) {
        this.batchSize = batchSize;
    }

    public int getBatchSize() {
        return batchSize;
    }

    public void setLingerMs(long lingerMs) {
        this.lingerMs = lingerMs;
    }

    public void setMaxAgeMs(long maxAgeMs) {
        this.maxAgeMs = maxAgeMs;
    }

    public long getMaxAgeMs() {
        return maxAgeMs;
    }

    public void setMaxBytes(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    public long getMaxBytes() {
        return maxBytes;
    }

    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    public int getConcurrency() {
        return concurrency;
    }

    public void setHoldMs(long holdMs) {
        this.holdMs = holdMs;
    }

    public long getHoldMs() {
        return holdMs;
    }

    public void setKinds(String kinds) {
        this.kinds = kinds;
    }

    public void setTopics(String topics) {
        this.topics = topics;
    }

    public void setTarget(String target) {
        this.target = target;
    }

    public void setRetryInitialDelayMs(long retryInitialDelayMs) {
        this.retryInitialDelayMs = retryInitialDelayMs;
    }

    public void setRetryMultiplier(double retryMultiplier) {
        this.retryMultiplier = retryMultiplier;
    }

    public void setRetryMaxDelayMs(long retryMaxDelayMs) {
        this.retryMaxDelayMs = retryMaxDelayMs;
    }

    public void setRetryMaxAttempts(int retryMaxAttempts) {
        this.retryMaxAttempts = retryMaxAttempts;
    }

    public void setRetryMaxAgeMs(long retryMaxAgeMs) {
        this.retryMaxAgeMs = retryMaxAgeMs;
    }

    public void setCircuitFailureRatePercent(int circuitFailureRatePercent) {
        this.circuitFailureRatePercent = circuitFailureRatePercent;
    }

    public void setCircuitMinimumCalls(int circuitMinimumCalls) {
        this.circuitMinimumCalls = circuitMinimumCalls;
    }

    public void setCircuitOpenMs(long circuitOpenMs) {
        this.circuitOpenMs = circuitOpenMs;
    }
}
