package com.foxtrackr.fanout.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteTemplateDefinition;

import com.foxtrackr.fanout.FanoutSetup;

/**
 * Refuses fanout.* properties (and FANOUT_* environment variables) that the product does not know: a misspelt key
 * would otherwise be ignored silently. Known are the product's own keys, every {{fanout.*}} placeholder of the
 * route files (so a key an operator adds for a route of theirs is known), and the options of each source and sink
 * instance, from its template.
 */
public final class ConfigKeys {
    private static final Set<String> PRODUCT = Set.of(
            "fanout.data-dir", "fanout.http.host", "fanout.http.port", "fanout.http.token",
            "fanout.mqtt.url", "fanout.mqtt.qos", "fanout.mqtt.keep-alive-s", "fanout.mqtt.connect-timeout-s",
            "fanout.mqtt.max-reconnect-delay-ms", "fanout.mqtt.username", "fanout.mqtt.password", "fanout.mqtt.tls.ca-file",
            "fanout.demo.broker-port", "fanout.demo.devices", "fanout.demo.interval-ms", "fanout.demo.rounds",
            "fanout.sources", "fanout.sinks", "fanout.ingest.max-payload-bytes",
            "fanout.outbox.synchronous", "fanout.outbox.repeat-window-hours", "fanout.outbox.maintenance-interval-ms",
            "fanout.outbox.url", "fanout.outbox.user", "fanout.outbox.password", "fanout.outbox.connections", "fanout.outbox.lock-interval-ms",
            "fanout.progress.interval-ms", "fanout.dead-letters.retention-ms");
    /** Read by the logging configuration (logback.xml) from the environment only. */
    private static final Set<String> LOGGING = Set.of("FANOUT_LOG_FORMAT", "FANOUT_LOG_LEVEL", "FANOUT_LOG_TARGET");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\??(fanout\\.[A-Za-z0-9._-]+)");

    private ConfigKeys() {
    }

    /**
     * Every fanout.* key of the properties files and every FANOUT_* variable of the environment must be known.
     * The options of a listed source or sink (fanout.source.(name).*, fanout.sink.(name).*) are its template's,
     * which FanoutSetup checks as it creates the route; for a name that fanout.sources or fanout.sinks does not list
     * (kept for later), any option of a template of its kind is taken.
     */
    public static void check(CamelContext context, Settings settings, Set<String> commonSinkOptions, Map<String, String> environment) {
        Set<String> known = new TreeSet<>(PRODUCT);
        known.addAll(placeholders(settings));
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        Set<String> sinkOptions = new HashSet<>(commonSinkOptions);
        model.getRouteTemplateDefinitions().stream().filter(t -> t.getId().startsWith("sink-"))
                .forEach(t -> sinkOptions.addAll(options(t)));
        Set<String> sourceOptions = options(model.getRouteTemplateDefinition("source-mqtt"));
        List<Instances> instances = List.of(new Instances("fanout.source.", settings.list("fanout.sources"), sourceOptions),
                new Instances("fanout.sink.", settings.list("fanout.sinks"), sinkOptions));
        // what a misspelt key is compared with: the product's keys and the listed instances' options
        Set<String> candidates = new TreeSet<>(known);
        instances.forEach(i -> i.listed().forEach(name -> i.options().forEach(option -> candidates.add(i.prefix() + name + "." + option))));
        for (Object property : context.getPropertiesComponent().loadPropertiesAsMap().keySet()) {
            String key = property.toString();
            if (key.startsWith("fanout.") && !known.contains(key) && instances.stream().noneMatch(i -> i.takes(key, false))) {
                throw new ConfigException(key, "is not a property of the product" + nearest(key, candidates));
            }
        }
        Set<String> knownVariables = new TreeSet<>(LOGGING);
        known.forEach(key -> knownVariables.add(envName(key)));
        Set<String> candidateVariables = new TreeSet<>(LOGGING);
        candidates.forEach(key -> candidateVariables.add(envName(key)));
        for (String variable : new TreeSet<>(environment.keySet())) {
            if (variable.startsWith("FANOUT_") && !knownVariables.contains(variable) && instances.stream().noneMatch(i -> i.takes(variable, true))) {
                throw new ConfigException(variable, "(environment) is not a property of the product" + nearest(variable, candidateVariables));
            }
        }
    }

    /** The sources or the sinks: the listed names, and the options any of them may have. */
    private record Instances(String prefix, List<String> listed, Set<String> options) {
        /** A key (or variable) of a listed instance, or one of an unlisted instance that names an option of its kind. */
        boolean takes(String key, boolean variable) {
            String start = variable ? envName(prefix) : prefix;
            if (!key.startsWith(start)) {
                return false;
            }
            if (listed.stream().anyMatch(name -> key.startsWith(start + (variable ? envName(name) + "_" : name + ".")))) {
                return true;
            }
            return options.stream().anyMatch(option -> variable ? key.endsWith("_" + envName(option))
                    : key.endsWith("." + option) && key.length() > start.length() + option.length() + 1);
        }
    }

    /** fanout.mqtt.url -> FANOUT_MQTT_URL, as Camel maps environment variables to properties. */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static Set<String> options(RouteTemplateDefinition template) {
        Set<String> options = new HashSet<>();
        if (template != null) {
            template.getTemplateParameters().forEach(p -> options.add(p.getName()));
        }
        options.remove("name");
        return options;
    }

    /** The {{fanout.*}} placeholders of the route files that camel.main.routes-include-pattern names. */
    private static Set<String> placeholders(Settings settings) {
        Set<String> keys = new HashSet<>();
        for (String pattern : settings.list("camel.main.routes-include-pattern")) {
            if (!pattern.startsWith("file:")) {
                continue;
            }
            Path glob = Path.of(pattern.substring("file:".length()));
            Path directory = glob.getParent() == null ? Path.of(".") : glob.getParent();
            var matcher = directory.getFileSystem().getPathMatcher("glob:" + glob.getFileName());
            if (!Files.isDirectory(directory)) {
                continue;
            }
            try (Stream<Path> files = Files.list(directory)) {
                for (Path file : files.filter(f -> matcher.matches(f.getFileName())).toList()) {
                    Matcher m = PLACEHOLDER.matcher(Files.readString(file));
                    while (m.find()) {
                        keys.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return keys;
    }

    /** "; the nearest known one is (the closest key)": a misspelling is usually one or two characters away. */
    static String nearest(String key, Set<String> known) {
        return known.stream().min(Comparator.comparingInt((String k) -> distance(key, k)).thenComparing(k -> k))
                .map(best -> "; the nearest known one is " + best).orElse("");
    }

    /** Levenshtein distance: insertions, deletions and substitutions. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
