package com.foxtrackr.fanout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import okhttp3.OkHttpClient;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.model.RouteTemplateParameterDefinition;
import org.influxdb.InfluxDB;
import org.influxdb.InfluxDBFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.slf4j.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import org.slf4j.LoggerFactory;

/**
 * Builds the bundle from properties once the YAML routes are loaded: validates the configuration, opens the
 * outbox, and creates one route per MQTT source and per sink instance from the templates in routes/.
 */
public class FanoutSetup extends MainListenerSupport {
    private static final Logger LOG = LoggerFactory.getLogger(FanoutSetup.class);
    /** The vendor's client id: id-(the id it issued)-(a number per client of the customer). */
    static final Pattern CLIENT_ID = Pattern.compile("id-[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*-[0-9]{2,}");
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9]*(-[a-z0-9]+)*");
    private static final Set<String> COMMON_SINK_OPTIONS = Set.of("type", "kinds", "topics",
            "retry.initial-delay-ms", "retry.multiplier", "retry.max-delay-ms");

    private Outbox outbox;
    private OutboxWriter writer;
    private MqttInflightStore.Db inflight;
    private PartnerCalls partnerCalls;
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

    public FanoutSetup() {
        this(false);
    }

    /** With checkOnly, configures everything, runs the check command's probes and stops before any route starts. */
    public FanoutSetup(boolean checkOnly) {
        this.checkOnly = checkOnly;
    }

    @Override
    public void afterConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
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
        context.getRegistry().bind("parse", (Processor) validator::parse);
        context.getRegistry().bind("checkCommonFields", (Processor) validator::checkCommonFields);
        context.getRegistry().bind("influxPoints", new InfluxPoints(json));

        try {
            outbox = new Outbox(dataDir.resolve("outbox.db"), synchronous, repeatWindowHours * 3_600_000, retentionMs);
        } catch (Exception e) {
            throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot hold the outbox: " + e.getMessage());
        }
        context.getRegistry().bind("outbox", outbox);
        try {
            inflight = new MqttInflightStore.Db(dataDir.resolve("mqtt-inflight.db"), synchronous);
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
            backlog = new Backlog(dataDir.resolve("outbox.db"));
        } catch (java.sql.SQLException e) {
            throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot be read: " + e.getMessage());
        }
        context.getRegistry().bind("sourceStates", sourceStates);
        statusPage = new StatusPage(backlog, metrics, dataDir.resolve("outbox.db"));
        statusPage.mode(mode);
        context.getRegistry().bind("statusPage", statusPage);
        writer = new OutboxWriter(outbox);
        context.getRegistry().bind("storeAccepted", writer.storeAccepted());
        context.getRegistry().bind("storeRejected", writer.storeRejected());
        try {
            context.getRegistry().bind("deadLetters", new DeadLetters(dataDir.resolve("outbox.db")));
        } catch (java.sql.SQLException e) {
            throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot be read: " + e.getMessage());
        }
        context.getRegistry().bind("paho", new MqttSourceComponent());
        context.getRegistry().bind("mqttConnection", mqtt);

        // at a stop, once the sinks have finished their batches: on SIGTERM the JVM ends when the context has
        // stopped, before Main's own stop listeners may run
        context.getManagementStrategy().addEventNotifier(new org.apache.camel.support.EventNotifierSupport() {
            @Override
            public void notify(org.apache.camel.spi.CamelEvent event) {
                logPending();
            }

            @Override
            public boolean isEnabled(org.apache.camel.spi.CamelEvent event) {
                return !checkOnly && event instanceof org.apache.camel.spi.CamelEvent.CamelContextRoutesStoppedEvent;
            }
        });
        createSources(context, settings, mqtt);
        List<String> sinks = createSinks(context, settings);
        context.getRegistry().bind("progress", new Progress(backlog, metrics, sinks, outbox::sink, archiveBatching));
        if (checkOnly) {
            Path outboxFile = dataDir.resolve("outbox.db").toAbsolutePath();
            probes.add(0, new CheckCommand.Probe("outbox", "fanout.data-dir", () -> "opened " + outboxFile));
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
            instantiate(context, settings, "source-mqtt", "source-" + source, prefix, source, Set.of());
            probes.add(new CheckCommand.Probe("source " + source, "fanout.mqtt.*, FANOUT_MQTT_USERNAME/PASSWORD, " + prefix + "topic",
                    demo != null ? demo::probe
                            : () -> Probes.broker(mqtt, clientId, settings.text(prefix + "topic"), (int) settings.number("fanout.mqtt.qos", 2, 0, 2))));
            SourceState state = sourceStates.of(clientId);
            FanoutHealth.source(context, source, state);
            metrics.source(state);
            statusPage.source(source, settings.text(prefix + "topic"), state);
            LOG.info("source={} client-id={} topic={}", source, clientId, settings.text(prefix + "topic"));
        }
    }

    /** Creates the configured sinks (and the demo's archive) and returns their names. */
    private List<String> createSinks(CamelContext context, Settings settings) {
        partnerCalls = new PartnerCalls(outbox);
        context.getRegistry().bind("partnerCalls", partnerCalls);
        partnerCalls.steps().forEach(context.getRegistry()::bind);
        context.getRegistry().bind("archive", new Archive());
        List<String> configured = names(settings, "fanout.sinks");
        List<String> sinks = demo != null ? demo.sinks(context, configured) : configured;
        for (String sink : sinks) {
            String prefix = "fanout.sink." + sink + ".";
            String type = settings.text(prefix + "type");
            Map<String, String> parameters = instantiate(context, settings, "sink-" + type, "sink-" + sink, prefix, sink,
                    COMMON_SINK_OPTIONS);
            parameters.forEach((option, value) -> {
                if (Secrets.isSecret(option)) {
                    Secrets.add(value);
                }
            });
            SinkFilter filter = SinkFilter.parse(prefix, parameters.get("kinds"), parameters.get("topics"));
            long initialDelay = settings.number(prefix + "retry.initial-delay-ms", 1000, 1, 3_600_000);
            double multiplier = settings.decimal(prefix + "retry.multiplier", 2.0, 1.0, 10.0);
            long maxDelay = settings.number(prefix + "retry.max-delay-ms", 60_000, 1, 86_400_000);
            Sink.Retry untilDelivered = new Sink.Retry(initialDelay, multiplier, maxDelay, 0, Long.MAX_VALUE);
            switch (type) {
                case "influxdb" -> {
                    if (filter.kinds().isEmpty() || filter.kinds().contains(MessageValidator.OTHER_KIND) || !filter.codes().isEmpty()) {
                        throw new ConfigException(prefix + "kinds", "must list series kinds by name (such as battery,temperature): "
                                + "'other' messages have no series to write");
                    }
                    context.getRegistry().bind("influxdb-" + sink, influxClient(settings, prefix, parameters));
                    outbox.addSink(new Sink(sink, filter, untilDelivered, InfluxPoints::isPermanent, null));
                }
                case "http", "endpoint" -> {
                    Sink.Retry retry = new Sink.Retry(initialDelay, multiplier, maxDelay,
                            (int) settings.number(prefix + "retry.max-attempts", 0, 0, 1_000_000),
                            settings.number(prefix + "retry.max-age-ms", 604_800_000L, 1, Long.MAX_VALUE));
                    Sink.Circuit circuit = new Sink.Circuit(
                            (int) settings.number(prefix + "circuit.failure-rate-percent", 50, 1, 100),
                            (int) settings.number(prefix + "circuit.minimum-calls", 100, 1, 10_000),
                            settings.number(prefix + "circuit.open-ms", 30_000, 1, 86_400_000));
                    int concurrency = (int) settings.number(prefix + "concurrency", 4, 1, 64);
                    var calls = context.getExecutorServiceManager().newFixedThreadPool(this, "sink-" + sink, concurrency);
                    context.getRegistry().bind("sink-" + sink + "-pool", calls);
                    if ("http".equals(type)) {
                        partnerCalls.addPartner(sink, prefix, parameters.get("url"), PartnerCalls.headers(prefix, parameters.get("headers"),
                                        settings.optional(prefix + "bearer-token").orElse(null)),
                                Integer.parseInt(parameters.get("connect-timeout-ms")), Integer.parseInt(parameters.get("response-timeout-ms")),
                                concurrency, calls);
                    }
                    outbox.addSink(new Sink(sink, filter, retry, error -> false, circuit));
                }
                case "s3", "directory" -> {
                    Archive.checkPrefix(prefix + "prefix", parameters.get("prefix"));
                    if ("s3".equals(type)) {
                        context.getRegistry().bind("s3-" + sink, s3Client(settings, prefix, parameters));
                    }
                    outbox.addSink(new Sink(sink, filter, untilDelivered, error -> false, null));
                    archiveBatching.put(sink, new Progress.Batching(Integer.parseInt(parameters.get("batch-size")),
                            Long.parseLong(parameters.get("max-age-ms"))));
                }
                default -> outbox.addSink(new Sink(sink, filter, untilDelivered, error -> false, null));
            }
            outbox.sink(sink).target(target(type, parameters).trim());
            probes.add(new CheckCommand.Probe("sink " + sink, prefix + "*", Probes.sink(context, sink, type, parameters)));
            FanoutHealth.sink(context, outbox.sink(sink), backlog);
            metrics.backlog(sink, backlog);
            statusPage.sink(sink, type, outbox.sink(sink));
            LOG.info("sink={} type={} accepts={}", sink, type, filter);
            sinkTargets.add(sink + " (" + type + target(type, parameters) + ")");
        }
        if (!checkOnly) {
            try {
                outbox.sinksConfigured();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("the outbox cannot keep the sinks' places: " + e.getMessage(), e);
            }
        }
        return sinks;
    }

    /** Where a sink delivers, for the banner: a URL without its user information, a directory, a bucket. */
    private static String target(String type, Map<String, String> parameters) {
        return switch (type) {
            case "influxdb", "http" -> " " + org.apache.camel.util.URISupport.sanitizeUri(parameters.get("url"));
            case "directory" -> " " + Path.of(parameters.get("directory")).toAbsolutePath();
            case "s3" -> " s3://" + parameters.get("bucket") + "/" + parameters.get("prefix");
            case "endpoint" -> " " + org.apache.camel.util.URISupport.sanitizeUri(parameters.get("uri"));
            default -> "";
        };
    }

    /**
     * Creates a route from a template: each of the template's parameters is read from prefix + parameter name,
     * falling back to the template's default; a missing required one, or a property that is neither a
     * parameter nor one of the common options, fails the start with the property's name.
     */
    private Map<String, String> instantiate(CamelContext context, Settings settings, String templateId, String routeId,
            String prefix, String name, Set<String> commonOptions) {
        RouteTemplateDefinition template = context.getCamelContextExtension().getContextPlugin(Model.class)
                .getRouteTemplateDefinition(templateId);
        if (template == null) {
            throw new ConfigException(prefix + "type", "names no known type: there is no route template '" + templateId
                    + "' in routes/ (known: " + knownTypes(context) + ")");
        }
        Map<String, String> values = new LinkedHashMap<>();
        values.put("name", name);
        for (RouteTemplateParameterDefinition parameter : template.getTemplateParameters()) {
            if (parameter.getName().equals("name")) {
                continue;
            }
            String key = prefix + parameter.getName();
            String value = settings.optional(key).orElse(parameter.getDefaultValue());
            if (value == null && parameter.isRequired()) {
                throw new ConfigException(key, "is required (" + parameter.getDescription() + ")");
            }
            if (value != null) {
                values.put(parameter.getName(), value);
            }
        }
        checkNumbers(settings, template, prefix);
        checkKnownOptions(context, settings, template, prefix, commonOptions);
        TemplatedRouteBuilder builder = TemplatedRouteBuilder.builder(context, templateId).routeId(routeId);
        values.forEach(builder::parameter);
        builder.add();
        return values;
    }

    /**
     * A misspelt option, in application.properties or the environment, would be silently ignored: refuse it
     * instead. (A variable of another instance whose name starts with this one's, such as acme-eu beside acme, is its.)
     */
    private static void checkKnownOptions(CamelContext context, Settings settings, RouteTemplateDefinition template, String prefix,
            Set<String> commonOptions) {
        Set<String> known = new HashSet<>(commonOptions);
        template.getTemplateParameters().forEach(p -> known.add(p.getName()));
        known.remove("name"); // the instance's name is the one in fanout.sources or fanout.sinks
        for (String key : context.getPropertiesComponent().loadPropertiesAsMap().keySet().stream().map(Object::toString).toList()) {
            if (key.startsWith(prefix) && !known.contains(key.substring(prefix.length()))) {
                throw notAnOption(key, template, known);
            }
        }
        String variablePrefix = ConfigKeys.envName(prefix);
        String family = prefix.substring(0, prefix.indexOf('.', "fanout.".length()) + 1);
        List<String> longer = settings.list(family.equals("fanout.sink.") ? "fanout.sinks" : "fanout.sources").stream()
                .map(name -> ConfigKeys.envName(family + name + ".")).filter(p -> p.startsWith(variablePrefix) && !p.equals(variablePrefix)).toList();
        for (String variable : System.getenv().keySet()) {
            if (variable.startsWith(variablePrefix) && longer.stream().noneMatch(variable::startsWith)
                    && known.stream().noneMatch(option -> variable.equals(variablePrefix + ConfigKeys.envName(option)))) {
                throw notAnOption(variable + " (environment)", template, known);
            }
        }
    }

    private static ConfigException notAnOption(String key, RouteTemplateDefinition template, Set<String> known) {
        return new ConfigException(key, "is not an option of " + template.getId() + " (its options: "
                + String.join(", ", new java.util.TreeSet<>(known)) + ")");
    }

    /** Parameters whose names end in -ms, -size or -bytes are whole numbers. */
    private static void checkNumbers(Settings settings, RouteTemplateDefinition template, String prefix) {
        for (RouteTemplateParameterDefinition parameter : template.getTemplateParameters()) {
            String name = parameter.getName();
            if (name.endsWith("-ms") || name.endsWith("-size") || name.endsWith("-bytes")) {
                settings.number(prefix + name, 0, 1, Integer.MAX_VALUE);
            }
        }
    }

    private static String knownTypes(CamelContext context) {
        return String.join(", ", context.getCamelContextExtension().getContextPlugin(Model.class)
                .getRouteTemplateDefinitions().stream().map(RouteTemplateDefinition::getId)
                .filter(id -> id.startsWith("sink-")).map(id -> id.substring(5)).sorted().toList());
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

    private static InfluxDB influxClient(Settings settings, String prefix, Map<String, String> parameters) {
        long timeoutMs = Long.parseLong(parameters.get("timeout-ms"));
        OkHttpClient.Builder http = new OkHttpClient.Builder()
                .connectTimeout(timeoutMs, TimeUnit.MILLISECONDS)
                .readTimeout(timeoutMs, TimeUnit.MILLISECONDS)
                .writeTimeout(timeoutMs, TimeUnit.MILLISECONDS);
        String url = parameters.get("url");
        String version = parameters.get("version");
        String token = parameters.get("token");
        if (!Set.of("1", "2", "3").contains(version)) {
            throw new ConfigException(prefix + "version", "is '" + version + "': write 1, 2 or 3 (InfluxDB's major version)");
        }
        if (!version.equals("1") && token == null) {
            throw new ConfigException(prefix + "token", "is required for InfluxDB " + version + ".x: an API token with write access,"
                    + " from the environment (" + ConfigKeys.envName(prefix + "token") + ")");
        }
        if (version.equals("1") && token != null) {
            throw new ConfigException(prefix + "token", "is for InfluxDB 2.x and 3.x: set " + prefix + "version to 2 or 3"
                    + " (InfluxDB 1.x takes username and password)");
        }
        if (token != null) {
            http.addInterceptor(new InfluxApi(token, version.equals("3")));
        }
        String username = settings.text(prefix + "username", "");
        InfluxDB client = username.isEmpty()
                ? InfluxDBFactory.connect(url, http)
                : InfluxDBFactory.connect(url, username, settings.text(prefix + "password", ""), http);
        client.setLogLevel(InfluxDB.LogLevel.NONE);
        return client;
    }

    private static S3Client s3Client(Settings settings, String prefix, Map<String, String> parameters) {
        S3ClientBuilder s3 = S3Client.builder()
                .region(Region.of(parameters.get("region")))
                .forcePathStyle(Boolean.parseBoolean(parameters.get("path-style")))
                // S3-compatible stores often refuse the checksums the SDK now adds by default
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        String endpoint = parameters.get("endpoint");
        if (endpoint != null && !endpoint.isBlank()) {
            try {
                s3.endpointOverride(java.net.URI.create(endpoint));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(prefix + "endpoint", "is not a URL: " + endpoint);
            }
        }
        var keyId = settings.optional(prefix + "access-key-id");
        if (keyId.isPresent()) {
            s3.credentialsProvider(StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(keyId.get(), settings.text(prefix + "secret-access-key"))));
        } else {
            s3.credentialsProvider(DefaultCredentialsProvider.builder().build());
        }
        return s3.build();
    }

    /** The start-up banner: what feeds the bundle, where it delivers, where to look. */
    @Override
    public void afterStart(BaseMainSupport main) {
        Settings settings = new Settings(main.getCamelContext());
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
        if (partnerCalls != null) {
            try {
                partnerCalls.close();
            } catch (Exception e) {
                LOG.warn("closing the partners' connections failed: {}", e.getMessage());
            }
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
