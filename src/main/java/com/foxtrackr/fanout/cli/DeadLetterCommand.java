package com.foxtrackr.fanout.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import com.foxtrackr.fanout.config.ConfigFolder;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.DeadLetters;

/** {@code java -jar foxtrackr-fanout.jar dlq ...}: the dead-letter queues from the command line. */
public final class DeadLetterCommand {
    static final String USAGE = """
            usage: java -jar foxtrackr-fanout.jar dlq <command> [options]
              list                                  counts per sink and reason ("rejected" is the rejected input)
              show <sink|rejected> [--limit N]      the newest entries with their errors (default 20)
              payload <sink|rejected> <id>          one entry's original payload, byte for byte, to standard output
              replay [selection]                    back to pending: the sink delivers them again; prints how many
              purge [selection]                     deletes them for good; prints how many
            selection: --sink NAME (or rejected, for purge) --device ID --from TIME --to TIME (message time, ISO-8601)
            the outbox is <fanout.data-dir>/outbox.db, read from application.properties (in the configuration folder) and the environment,
            or --data-dir DIR""";

    private DeadLetterCommand() {
    }

    /** Runs a dlq command; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Map<String, String> options = new HashMap<>();
            java.util.List<String> words = new java.util.ArrayList<>();
            for (int i = 1; i < args.length; i++) {
                if (args[i].startsWith("--")) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(args[i] + " needs a value");
                    }
                    options.put(args[i].substring(2), args[++i]);
                } else {
                    words.add(args[i]);
                }
            }
            if (words.isEmpty()) {
                err.println(USAGE);
                return 2;
            }
            try (DeadLetters dlq = open(options.remove("data-dir"))) {
                switch (words.get(0)) {
                    case "list" -> {
                        out.printf("%-16s %8s  %-24s  %s%n", "sink", "count", "last", "reason");
                        for (DeadLetters.Count c : dlq.counts()) {
                            out.printf("%-16s %8d  %-24s  %s%n", c.sink(), c.count(), c.last(), c.reason());
                        }
                    }
                    case "show" -> {
                        for (DeadLetters.Entry e : dlq.entries(word(words, 1, "a sink name"),
                                Integer.parseInt(options.getOrDefault("limit", "20")))) {
                            out.printf("id=%d topic=%s received=%s attempts=%d first-error=\"%s\" at %s last-error=\"%s\" at %s%n",
                                    e.id(), e.topic(), e.received(), e.attempts(), e.firstError(), e.firstErrorAt(),
                                    e.lastError(), e.lastErrorAt());
                        }
                    }
                    case "payload" -> {
                        byte[] payload = dlq.payload(word(words, 1, "a sink name"), Long.parseLong(word(words, 2, "an id")));
                        if (payload == null) {
                            err.println("no such dead letter");
                            return 1;
                        }
                        out.write(payload);
                        out.flush();
                    }
                    case "replay" -> out.println("replayed " + dlq.replay(selection(options)));
                    case "purge" -> out.println("purged " + dlq.purge(options.get("sink"), options.get("device"),
                            options.get("from"), options.get("to")));
                    default -> throw new IllegalArgumentException("unknown command '" + words.get(0) + "'");
                }
            }
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("ERROR " + e.getMessage() + "\n" + USAGE);
            return 2;
        } catch (Exception e) {
            err.println("ERROR " + MessageValidator.reason(e));
            return 1;
        }
    }

    private static String word(java.util.List<String> words, int index, String what) {
        if (index >= words.size()) {
            throw new IllegalArgumentException("'" + words.get(0) + "' needs " + what);
        }
        return words.get(index);
    }

    private static DeadLetters.Selection selection(Map<String, String> options) {
        return DeadLetters.Selection.of(options.get("sink"), options.get("device"), options.get("from"), options.get("to"));
    }

    /** The bundle's dead letters: in PostgreSQL when fanout.outbox.url is set (and no --data-dir is given), else in the file. */
    static DeadLetters open(String explicitDataDir) throws IOException, java.sql.SQLException {
        String url = explicitDataDir == null ? setting("fanout.outbox.url") : null;
        if (url != null) {
            return DeadLetters.onPostgres(url, setting("fanout.outbox.user"), setting("fanout.outbox.password"));
        }
        Path dataDir = explicitDataDir != null ? Path.of(explicitDataDir) : ConfigFolder.resolve(Objects.requireNonNullElse(setting("fanout.data-dir"), "data"));
        return new DeadLetters(dataDir.resolve("outbox.db"));
    }

    /** A property as the bundle sees it: the environment (FANOUT_DATA_DIR) over application.properties; null if unset. */
    static String setting(String key) throws IOException {
        String fromEnvironment = System.getenv(key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_'));
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment;
        }
        Path file = ConfigFolder.properties();
        if (Files.exists(file)) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                properties.load(in);
            }
            String value = properties.getProperty(key);
            return value == null || value.isBlank() ? null : value.trim();
        }
        return null;
    }
}
