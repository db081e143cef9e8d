package com.foxtrackr.fanout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.foxtrackr.fanout.cli.CheckCommand;
import com.foxtrackr.fanout.cli.Probes;
import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.ConfigFolder;
import com.foxtrackr.fanout.config.ConfigKeys;
import com.foxtrackr.fanout.config.Secrets;
import com.foxtrackr.fanout.config.Settings;
import com.foxtrackr.fanout.config.Templates;
import com.foxtrackr.fanout.demo.DemoMode;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.ingest.OutboxWriter;
import com.foxtrackr.fanout.observe.FanoutHealth;
import com.foxtrackr.fanout.observe.HttpToken;
import com.foxtrackr.fanout.observe.Metrics;
import com.foxtrackr.fanout.observe.Progress;
import com.foxtrackr.fanout.observe.StatusPage;
import com.foxtrackr.fanout.outbox.Backlog;
import com.foxtrackr.fanout.outbox.Outbox;
import com.foxtrackr.fanout.outbox.OutboxComponent;
import com.foxtrackr.fanout.outbox.Sink;
import com.foxtrackr.fanout.outbox.Stores;
import com.foxtrackr.fanout.sinks.InfluxPoints;
import com.foxtrackr.fanout.source.MqttConnection;
import com.foxtrackr.fanout.source.MqttInflightStore;
import com.foxtrackr.fanout.source.MqttSourceComponent;
import com.foxtrackr.fanout.source.PostgresClusterService;
import com.foxtrackr.fanout.source.SqliteInflightDb;
import com.foxtrackr.fanout.source.SourceState;

/**
 * Builds the bundle from properties once the YAML routes are loaded: validates the configuration, opens the
 * outbox, and creates one route per MQTT source and per sink instance from the templates in routes/.
 */
public class FanoutSetup extends MainListenerSupport implements org.apache.camel.CamelContextAware {
    private static final Logger LOG = LoggerFactory.getLogger(FanoutSetup.class);
    /** The vendor's client id: id-(the id it issued)-(a number per client of the customer). */
    static final Pattern CLIENT_ID = Pattern.compile("id-[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*-[0-9]{2,}");
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9]*(-[a-z0-9]+)*");
    /** The one option of every sink that is not a parameter of its template. */
    private static final Set<String> COMMON_SINK_OPTIONS = Set.of("type");

    private Outbox outbox;
    /** With a shared outbox: which instance consumes each source (null for an instance on its own). */
    private PostgresClusterService sourceLocks;
    private OutboxWriter writer;
    private MqttInflightStore.Db inflight;
    private Backlog backlog;
    private Metrics metrics;
    private StatusPage statusPage;
    private final SourceState.All sourceStates = new SourceState.All();
    private final boolean checkOnly;
    private final List<CheckCommand.Probe> probes = new ArrayList<>();
    /** The demo (no broker configured), or null. */
    private DemoMode demo;
    /** The archives' batching, for the progress lines. */
    private final Map<String, Progress.Batching> archiveBatching = new java.util.HashMap<>();
    /** What the start-up banner says about the sinks: name (type target). */
    private final List<String> sinkTargets = new ArrayList<>();
    /** The configured sinks and their types. */
    private final Map<String, String> sinkTypes = new LinkedHashMap<>();

    /** Given when Camel Main makes this listener from its class name, as Camel's test support for Main does. */
    private CamelContext camelContext;

    public FanoutSetup() {
        this(false);
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The test support's Main runs the listeners without a context of its own: the one given to this listener then. */
    private CamelContext context(BaseMainSupport main) {
        return main.getCamelContext() != null ? main.getCamelContext() : camelContext;
    }

    /** With checkOnly, configures everything, runs the check command's probes and stops before any route starts. */
    public FanoutSetup(boolean checkOnly) {
        this.checkOnly = checkOnly;
    }

    @Override
    public void afterConfigure(BaseMainSupport main) {
        CamelContext context = context(main);
        Settings settings = new Settings(context);
        ConfigKeys.check(context, settings, COMMON_SINK_OPTIONS, System.getenv());
        String token = settings.optional("fanout.http.token").orElse(null);
        checkTokenBeyondLoopback(settings, token);
        context.getRegistry().bind("httpToken", new HttpToken(token));
        if (!checkOnly) {
            checkHttpPortFree(settings);
        }
        Path dataDir = ConfigFolder.resolve(settings.text("fanout.data-dir", "data"));
        int maxPayload = (int) settings.number("fanout.ingest.max-payload-bytes", 65536, 64, 16 * 1024 * 1024);
        String synchronous = settings.text("fanout.outbox.synchronous", "NORMAL").toUpperCase();
        if (!Set.of("NORMAL", "FULL").contains(synchronous)) {
            throw new ConfigException("fanout.outbox.synchronous", "must be NORMAL or FULL, not '" + synchronous + "'");
        }
        long repeatWindowHours = settings.number("fanout.outbox.repeat-window-hours", 168, 1, 24 * 366);
        long retentionMs = settings.number("fanout.dead-letters.retention-ms", 604_800_000L, 1, Long.MAX_VALUE);
        settings.number("fanout.outbox.maintenance-interval-ms", 60_000, 100, 86_400_000);
        settings.number("fanout.progress.interval-ms", 30_000, 100, 86_400_000);
        settings.number("fanout.mqtt.qos", 2, 0, 2);
        demo = DemoMode.ifNoBroker(settings);
        if (demo != null) {
            demo.startBroker(context, checkOnly);
        }
        MqttConnection mqtt = MqttConnection.fromSettings(settings);
        // what the bundle is fed by, for the status page
        String mode = demo != null ? demo.description() : "broker: " + StatusPage.withoutUserInfo(mqtt.url());

        var json = MessageValidator.objectMapper(maxPayload);
        MessageValidator validator = new MessageValidator(maxPayload);
        context.getRegistry().bind("checkSize", (Processor) validator::checkSize);
        context.getRegistry().bind("checkEncoding", (Processor) validator::checkEncoding);
        context.getRegistry().bind("payloadJson", json);
        context.getRegistry().bind("checkCommonFields", (Processor) validator::checkCommonFields);
        context.getRegistry().bind("influxPoints", new InfluxPoints(json));

        outbox = Stores.open(settings, dataDir, synchronous, repeatWindowHours * 3_600_000, retentionMs);
        if (Stores.shared(settings) && !checkOnly) {
            sourceLocks = Stores.sourceLocks(settings);
            try {
                context.addService(sourceLocks);
            } catch (Exception e) {
                throw org.apache.camel.RuntimeCamelException.wrapRuntimeException(e);
            }
        }
        context.getRegistry().bind("outboxStore", outbox);
        context.addComponent("outbox", new OutboxComponent(outbox));
        try {
            inflight = Stores.shared(settings) ? Stores.inflight(settings)
                    : new SqliteInflightDb(dataDir.resolve("mqtt-inflight.db"), synchronous);
        } catch (java.sql.SQLException e) {
            throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot hold the MQTT state: " + e.getMessage());
        }
        context.getRegistry().bind("mqttInflight", inflight);
        // the registry camel-micrometer-prometheus serves at /observe/metrics (made here if it has not made it yet)
        MeterRegistry meters = context.getRegistry().lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (meters == null) {
            meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            context.getRegistry().bind(MicrometerConstants.METRICS_REGISTRY_NAME, meters);
        }
        metrics = new Metrics(meters);
        outbox.metrics(metrics);
        try {
            backlog = outbox.backlog();
        } catch (java.sql.SQLException e) {
            throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot be read: " + e.getMessage());
        }
        context.getRegistry().bind("sourceStates", sourceStates);
        statusPage = new StatusPage(backlog, metrics, Stores.where(settings, dataDir),
                Stores.shared(settings) ? null : dataDir.resolve("outbox.db"));
        statusPage.mode(mode);
        context.getRegistry().bind("statusPage", statusPage);
        writer = new OutboxWriter(outbox);
        context.getRegistry().bind("storeAccepted", writer.storeAccepted());
        context.getRegistry().bind("storeRejected", writer.storeRejected());
        context.getRegistry().bind("deadLetters", outbox.deadLetters());
        context.getRegistry().bind("paho", new MqttSourceComponent());
        context.getRegistry().bind("mqttConnection", mqtt);

        // at a stop, once the sinks have finished their batches (a context stops its routes, then its services): on
        // SIGTERM the JVM ends when the context has stopped, before Main's own stop listeners may run. A service,
        // not an event notifier: with any notifier Camel checks at every exchange whether it wants the exchange's events
        if (!checkOnly) {
            try {
                context.addService(new org.apache.camel.support.service.ServiceSupport() {
                    @Override
                    protected void doStop() {
                        logPending();
                    }
                });
            } catch (Exception e) {
                throw org.apache.camel.RuntimeCamelException.wrapRuntimeCamelException(e);
            }
        }
        createSources(context, settings, mqtt);
        List<String> sinks = createSinks(context, settings);
        context.getRegistry().bind("progress", new Progress(backlog, metrics, sinks, outbox::sink, archiveBatching));
        if (checkOnly) {
            String where = Stores.where(settings, dataDir);
            probes.add(0, new CheckCommand.Probe("outbox", Stores.shared(settings) ? "fanout.outbox.*" : "fanout.data-dir", () -> "opened " + where));
            throw new CheckCommand.Done(CheckCommand.run(probes, System.out));
        }
    }

    /** Beyond loopback, anyone who reaches the API could replay and purge: not without a token. */
    private static void checkTokenBeyondLoopback(Settings settings, String token) {
        String host = settings.text("fanout.http.host", "127.0.0.1");
        boolean loopback;
        try {
            loopback = java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            throw new ConfigException("fanout.http.host", "is '" + host + "', which is no address of this machine");
        }
        if (!loopback && token == null) {
            throw new ConfigException("fanout.http.token", "is required when fanout.http.host (" + host + ") is beyond loopback:"
                    + " anyone who reaches the port could replay and purge dead letters; set FANOUT_HTTP_TOKEN");
        }
    }

    /**
     * Camel's HTTP server logs a failed bind and runs on without the API, while another process answers on the
     * port: a port that cannot be bound stops the start instead. (check starts no server, and may run beside the bundle.)
     */
    private static void checkHttpPortFree(Settings settings) {
        String host = settings.text("fanout.http.host", "127.0.0.1");
        long port = settings.number("fanout.http.port", 8080, 0, 65535);
        try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new java.net.InetSocketAddress(host, (int) port));
        } catch (java.io.IOException e) {
            throw new ConfigException("fanout.http.port", "is " + port + ", which cannot be used on " + host + " (" + e.getMessage()
                    + "): another process holds it; choose a free port");
        }
    }

    private void createSources(CamelContext context, Settings settings, MqttConnection mqtt) {
        List<String> sources = names(settings, "fanout.sources");
        if (sources.isEmpty()) {
            throw new ConfigException("fanout.sources", "lists no source: name at least one MQTT subscription");
        }
        Set<String> clientIds = new HashSet<>();
        for (String source : sources) {
            String prefix = "fanout.source." + source + ".";
            String clientId = settings.text(prefix + "client-id");
            if (!CLIENT_ID.matcher(clientId).matches()) {
                throw new ConfigException(prefix + "client-id", "is '" + clientId
                        + "', but the vendor requires id-<given>-<nn>, such as id-acme-01");
            }
            if (!clientIds.add(clientId)) {
                throw new ConfigException(prefix + "client-id", "is '" + clientId
                        + "', already used by another source: each source needs its own client id and session");
            }
            // with a shared outbox, Camel's master component lets one instance at a time consume the source
            String lock = sourceLocks != null ? "master:" + source + ":" : "";
            Templates.instantiate(context, settings, "source-mqtt", "source-" + source, prefix, source, Set.of(), Map.of("lock", lock));
            probes.add(new CheckCommand.Probe("source " + source, "fanout.mqtt.*, FANOUT_MQTT_USERNAME/PASSWORD, " + prefix + "topic",
                    demo != null ? demo::probe
                            : () -> Probes.broker(mqtt, clientId, settings.text(prefix + "topic"), (int) settings.number("fanout.mqtt.qos", 2, 0, 2))));
            SourceState state = sourceStates.of(clientId);
            if (sourceLocks != null) {
                sourceLocks.report(source, state);
            }
            FanoutHealth.source(context, source, state);
            metrics.source(state);
            statusPage.source(source, settings.text(prefix + "topic"), state);
            LOG.info("source={} client-id={} topic={}", source, clientId, settings.text(prefix + "topic"));
        }
    }

    /**
     * Creates a route per configured sink (and the demo's archive) from its type's template, and returns their names.
     * What a type needs (delivery, retries, circuit breaker, clients) is declared in its template; each route's
     * outbox: endpoint adds its sink to the outbox as the route is made.
     */
    private List<String> createSinks(CamelContext context, Settings settings) {
        List<String> configured = names(settings, "fanout.sinks");
        List<String> sinks = demo != null ? demo.sinks(context, configured) : configured;
        if (!checkOnly) {
            outbox.expectSinks(sinks);
        }
        for (String sink : sinks) {
            String prefix = "fanout.sink." + sink + ".";
            String type = settings.text(prefix + "type");
            Map<String, String> parameters = Templates.instantiate(context, settings, "sink-" + type, "sink-" + sink, prefix, sink,
                    COMMON_SINK_OPTIONS, Map.of());
            parameters.forEach((option, value) -> {
                if (Secrets.isSecret(option)) {
                    Secrets.add(value);
                }
            });
            sinkTypes.put(sink, type);
            if (checkOnly) {
                // the sink's outbox: endpoint checks its options (ranges, kinds, topics) as the route is made,
                // which a check does not reach: made here, so that check says what a start would
                Templates.makeFirstEndpoint(context, "sink-" + sink);
            }
            Templates.checkSteps(context, prefix, parameters.get("steps"));
            if (parameters.containsKey("max-age-ms")) {
                archiveBatching.put(sink, new Progress.Batching(Integer.parseInt(parameters.get("batch-size")),
                        Long.parseLong(parameters.get("max-age-ms"))));
            }
            probes.add(new CheckCommand.Probe("sink " + sink, prefix + "*", Probes.sink(sink, type, parameters)));
            metrics.backlog(sink, backlog);
            FanoutHealth.sink(context, sink, outbox::sink, backlog);
        }
        return sinks;
    }

    /** Once the routes are made, each sink is in the outbox: its health check, status and a line of the banner. */
    private void describeSinks(CamelContext context) {
        sinkTypes.forEach((name, type) -> {
            Sink sink = outbox.sink(name);
            if (sink == null) {
                throw new ConfigException("fanout.sink." + name + ".type", "is " + type + ", whose template sink-" + type
                        + " does not start from outbox:{{name}}: the sink would receive nothing");
            }
            statusPage.sink(name, type, sink);
            LOG.info("sink={} type={} accepts={}", name, type, sink.filter());
            sinkTargets.add(name + " (" + type + (sink.where().isEmpty() ? "" : " " + sink.where()) + ")");
        });
    }

    private static List<String> names(Settings settings, String key) {
        List<String> names = settings.list(key);
        for (String name : names) {
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(key, "has the name '" + name + "': use lowercase letters, digits and dashes");
            }
        }
        if (new HashSet<>(names).size() != names.size()) {
            throw new ConfigException(key, "names the same instance twice: " + names);
        }
        return names;
    }

    /** The start-up banner: what feeds the bundle, where it delivers, where to look. */
    @Override
    public void afterStart(BaseMainSupport main) {
        describeSinks(context(main));
        Settings settings = new Settings(context(main));
        if (demo != null) {
            demo.startFleet(sourceStates);
            demo.banner().forEach(LOG::info);
        } else {
            LOG.info("broker: {} (fanout.mqtt.url), sources {}", settings.text("fanout.mqtt.url"), names(settings, "fanout.sources"));
        }
        LOG.info("sinks: {}", String.join(", ", sinkTargets));
        String http = "http://" + settings.text("fanout.http.host", "127.0.0.1") + ":" + settings.text("fanout.http.port", "8080");
        LOG.info("look at: status page {}/, health {}/observe/health?data=true, metrics {}/observe/metrics, dead letters {}/dlq",
                http, http, http, http);
    }

    /** What waits in the outbox at a stop, per sink: it is kept there and delivered after the next start. */
    private void logPending() {
        try {
            Backlog.Snapshot left = backlog.countNow();
            String pending = String.join(" ", left.sinks().entrySet().stream()
                    .map(sink -> sink.getKey() + "=" + sink.getValue().pending()).toList());
            LOG.info("stopped: nothing is lost; pending in the outbox, delivered after the next start: {}", pending.isEmpty() ? "none" : pending);
        } catch (java.sql.SQLException e) {
            LOG.warn("stopped; the outbox could not be counted ({}), and keeps what was pending", e.getMessage());
        }
    }

    @Override
    public void beforeStop(BaseMainSupport main) {
        if (demo != null) {
            demo.stopFleet();
        }
    }

    @Override
    public void afterStop(BaseMainSupport main) {
        if (demo != null) {
            demo.close();
        }
        if (outbox != null) {
            try {
                writer.close();
                outbox.close();
                inflight.close();
                backlog.close();
            } catch (Exception e) {
                LOG.warn("closing the outbox failed: {}", e.getMessage());
            }
        }
    }
}
