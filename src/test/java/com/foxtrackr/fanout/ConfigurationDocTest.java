package com.foxtrackr.fanout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Keeps the configuration reference, docs/configuration.md, current: every option that a template in routes/ declares
 * and every fanout.* key that application.properties sets or shows commented out must be named in it, in backticks.
 * A parameter added to a template, or a key added to the file, fails this test until the reference names it.
 */
class ConfigurationDocTest {
    private static final Path DOC = Path.of("docs/configuration.md");
    private static final Path ROUTES = Path.of("routes");
    private static final Path PROPERTIES = Path.of("application.properties");

    private static final Pattern BACKTICKED = Pattern.compile("`([^`\\n]+)`");
    private static final Pattern HEADING = Pattern.compile("^(#{1,6})\\s+(.*)$");
    private static final Pattern PARAMETERS = Pattern.compile("^(\\s*)parameters:\\s*(#.*)?$");
    private static final Pattern ITEM_NAME = Pattern.compile("^(\\s*)-\\s+name:\\s*[\"']?([A-Za-z0-9._-]+)[\"']?\\s*(#.*)?$");
    /** fanout.x=... or #fanout.x=... (an example the file shows commented out). */
    private static final Pattern PROPERTY = Pattern.compile("^\\s*#?\\s*(fanout\\.[A-Za-z0-9._-]+)\\s*=(.*)$");
    /** A key of one source or sink instance: fanout.sink.influx.url, fanout.source.fleet.topic. */
    private static final Pattern INSTANCE_KEY = Pattern.compile("^fanout\\.(sink|source)\\.([a-z0-9-]+)\\.(.+)$");

    /**
     * Each sink type's options, in the section of that type: a heading that names the type in backticks (such as
     * "### `http`: a partner"), down to the next heading of the same or a higher level. A per-type section is asked
     * for because names such as url or batch-size are options of several types: found anywhere in the file, a row
     * missing from one type's table would go unnoticed. The source's options (fanout.source.<name>.*) may be
     * anywhere in the file.
     */
    @Test
    void should_name_every_option_of_every_template() throws IOException {
        String doc = Files.readString(DOC);
        Set<String> everywhere = backticked(doc);
        Map<Path, List<String>> templates = templates();
        assertTrue(templates.keySet().stream().filter(t -> t.getFileName().toString().startsWith("sink-")).count() >= 5,
                "the shipped sink templates are in routes/: " + templates.keySet());
        assertTrue(templates.containsKey(ROUTES.resolve("source-mqtt.yaml")), "routes/source-mqtt.yaml is read: " + templates.keySet());

        List<String> missing = new ArrayList<>();
        for (Map.Entry<Path, List<String>> template : templates.entrySet()) {
            String file = template.getKey().getFileName().toString();
            List<String> options = template.getValue();
            if (options.isEmpty()) {
                missing.add(ROUTES.resolve(file) + ": no parameters found (is `- name:` under `parameters:` still its form?)");
                continue;
            }
            if (file.startsWith("sink-")) {
                String type = file.substring("sink-".length(), file.length() - ".yaml".length());
                String section = section(doc, type);
                if (section == null) {
                    missing.add("sink type `" + type + "` (" + ROUTES.resolve(file) + "): no heading names `" + type
                            + "` in backticks; its options " + options);
                    continue;
                }
                Set<String> named = backticked(section);
                for (String option : options) {
                    if (!named.contains(option) && !named.contains("fanout.sink.<name>." + option)) {
                        missing.add("sink type `" + type + "`: option `" + option + "` (" + ROUTES.resolve(file)
                                + ") is not in the section of `" + type + "`");
                    }
                }
            } else {
                for (String option : options) {
                    if (!everywhere.contains(option) && !everywhere.contains("fanout.source.<name>." + option)) {
                        missing.add("source: option `" + option + "` (" + ROUTES.resolve(file) + ") as `fanout.source.<name>."
                                + option + "` or `" + option + "`");
                    }
                }
            }
        }
        if (!missing.isEmpty()) {
            fail(DOC + " does not name these options of the templates in routes/:\n  " + String.join("\n  ", missing));
        }
    }

    /**
     * Every fanout.* key of application.properties, set or commented out. A key of one instance
     * (fanout.source.fleet.topic) may be documented as itself or in its generic form (fanout.source.&lt;name&gt;.topic),
     * and a sink's option also as the bare option in the section of the sink's type (url under `influxdb`).
     */
    @Test
    void should_name_every_fanout_key_of_application_properties() throws IOException {
        String doc = Files.readString(DOC);
        Set<String> everywhere = backticked(doc);
        Map<String, String> keys = properties();
        assertTrue(keys.size() >= 20, "application.properties is read: " + keys.keySet());

        List<String> missing = new ArrayList<>();
        for (String key : keys.keySet()) {
            if (everywhere.contains(key)) {
                continue;
            }
            Matcher instance = INSTANCE_KEY.matcher(key);
            if (instance.matches()) {
                String family = instance.group(1);
                String option = instance.group(3);
                if (everywhere.stream().anyMatch(named -> named.matches("fanout\\." + family + "\\.<[^>]+>\\." + Pattern.quote(option)))) {
                    continue;
                }
                String type = keys.get("fanout.sink." + instance.group(2) + ".type");
                String section = family.equals("sink") && type != null ? section(doc, type) : null;
                if (section != null && backticked(section).contains(option)) {
                    continue;
                }
                missing.add("`" + key + "` (or `fanout." + family + ".<name>." + option + "`"
                        + (type == null ? "" : ", or `" + option + "` under `" + type + "`") + ")");
            } else {
                missing.add("`" + key + "`");
            }
        }
        if (!missing.isEmpty()) {
            fail(DOC + " does not name these keys of " + PROPERTIES + ":\n  " + String.join("\n  ", missing));
        }
    }

    /** routes/sink-*.yaml and routes/source-mqtt.yaml, each with its template parameters but name. */
    private static Map<Path, List<String>> templates() throws IOException {
        Map<Path, List<String>> templates = new TreeMap<>();
        try (Stream<Path> files = Files.list(ROUTES)) {
            for (Path file : files.filter(f -> f.getFileName().toString().matches("sink-.+\\.yaml|source-mqtt\\.yaml")).toList()) {
                templates.put(ROUTES.resolve(file.getFileName()), parameters(Files.readAllLines(file)));
            }
        }
        return templates;
    }

    /**
     * The names of the items of each parameters: block (a template's parameters are a list of name, description,
     * defaultValue; an endpoint's parameters: block is a map, without such items). name itself is the instance's.
     */
    static List<String> parameters(List<String> lines) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher block = PARAMETERS.matcher(lines.get(i));
            if (!block.matches()) {
                continue;
            }
            int indent = block.group(1).length();
            int itemIndent = -1;
            for (int j = i + 1; j < lines.size(); j++) {
                String line = lines.get(j);
                String trimmed = line.strip();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                int lineIndent = line.length() - line.stripLeading().length();
                if (lineIndent <= indent && !(lineIndent == indent && trimmed.startsWith("- "))) {
                    break;
                }
                Matcher item = ITEM_NAME.matcher(line);
                if (item.matches() && (itemIndent < 0 || item.group(1).length() == itemIndent)) {
                    itemIndent = item.group(1).length();
                    if (!item.group(2).equals("name")) {
                        names.add(item.group(2));
                    }
                }
            }
        }
        return names;
    }

    /** The fanout.* keys of application.properties, set or commented out, with their values. */
    private static Map<String, String> properties() throws IOException {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String line : Files.readAllLines(PROPERTIES)) {
            Matcher property = PROPERTY.matcher(line);
            if (property.matches()) {
                keys.putIfAbsent(property.group(1), property.group(2).strip());
            }
        }
        return keys;
    }

    /** The sections whose heading names the type in backticks, each down to the next heading of its level or higher; null if none. */
    static String section(String doc, String type) {
        String[] lines = doc.split("\n", -1);
        StringBuilder section = new StringBuilder();
        boolean found = false;
        boolean inCode = false;
        int level = 0;
        boolean in = false;
        for (String line : lines) {
            if (line.startsWith("```")) {
                inCode = !inCode;
            }
            Matcher heading = inCode ? null : HEADING.matcher(line);
            if (heading != null && heading.matches()) {
                int thisLevel = heading.group(1).length();
                if (in && thisLevel <= level) {
                    in = false;
                }
                if (!in && backticked(heading.group(2)).contains(type)) {
                    in = true;
                    found = true;
                    level = thisLevel;
                }
            }
            if (in) {
                section.append(line).append('\n');
            }
        }
        return found ? section.toString() : null;
    }

    private static Set<String> backticked(String text) {
        Set<String> names = new HashSet<>();
        Matcher m = BACKTICKED.matcher(text);
        while (m.find()) {
            names.add(m.group(1).strip());
        }
        return names;
    }
}
