package com.foxtrackr.fanout;

import org.apache.camel.main.Main;

import com.foxtrackr.fanout.cli.CheckCommand;
import com.foxtrackr.fanout.cli.ClassArchiveCommand;
import com.foxtrackr.fanout.cli.DeadLetterCommand;
import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.ConfigFolder;
import com.foxtrackr.fanout.config.Secrets;

/** Runs the fan-out: ./application.properties and ./routes/*.yaml, with the environment overriding any property. */
public class App {
    static final String USAGE = """
            usage: java -jar foxtrackr-fanout.jar [--config-dir DIR] [command]
              (none)      runs the fan-out: ./application.properties and ./routes/*.yaml, the environment overriding any property;
                          with fanout.mqtt.url unset, the demo: an embedded broker and a simulated fleet feed the routes
              check       reads the configuration, tries every connection (broker, each sink) and prints what works;
                          exit code 0 when everything works, 1 when something does not, 2 for a configuration mistake
              dlq ...     the dead-letter queues: list, show, payload, replay, purge (java -jar foxtrackr-fanout.jar dlq)
              archive-classes
                          makes foxtrackr-fanout.jsa beside the jar, the classes a start loads, for the run command's
                          -XX:SharedArchiveFile (a start in half the time); again after the jar changes
              --version   the version
              --help      this text
            --config-dir DIR (or FANOUT_CONFIG_DIR=DIR): the folder of application.properties and routes/ (default: the
                          working directory); a relative fanout.data-dir is taken from it too""";

    /** The YAML parser's message on one line, without the quoted source and its caret (indented lines). */
    static String yamlProblem(String message) {
        return message.lines().filter(line -> !line.isBlank() && !line.startsWith("  ")).map(String::trim)
                .reduce((a, b) -> a + " " + b).orElse(message);
    }

    /** A relative file: route pattern of application.properties, taken from the configuration folder (null: as it is). */
    static String routesInConfigFolder() throws java.io.IOException {
        java.util.Properties properties = new java.util.Properties();
        try (var in = java.nio.file.Files.newInputStream(ConfigFolder.properties())) {
            properties.load(in);
        }
        String pattern = properties.getProperty("camel.main.routes-include-pattern", "").trim();
        if (!pattern.startsWith("file:") || pattern.contains(",") || java.nio.file.Path.of(pattern.substring(5)).isAbsolute()) {
            return null;
        }
        return "file:" + ConfigFolder.resolve(pattern.substring(5));
    }

    /** The version Maven built, from the jar's manifest. */
    public static String version() {
        String version = App.class.getPackage().getImplementationVersion();
        return version == null ? "(development build)" : version;
    }

    public static void main(String[] args) throws Exception {
        // before the first log line configures logging (logback.xml): the libraries at WARN when the product logs INFO
        String level = System.getenv().getOrDefault("FANOUT_LOG_LEVEL", "INFO").trim().toUpperCase(java.util.Locale.ROOT);
        System.setProperty("FANOUT_LIBRARY_LOG_LEVEL", level.equals("INFO") || level.isEmpty() ? "WARN" : level);
        String configDir = System.getenv("FANOUT_CONFIG_DIR");
        if (args.length >= 2 && args[0].equals("--config-dir")) {
            configDir = args[1];
            args = java.util.Arrays.copyOfRange(args, 2, args.length);
        }
        if (configDir != null && !configDir.isBlank()) {
            ConfigFolder.set(java.nio.file.Path.of(configDir));
        }
        String command = args.length > 0 ? args[0] : "";
        if (command.equals("check") || command.equals("dlq") || command.equals("archive-classes")) {
            // standard output for the command's table; before the first log line configures logging
            System.setProperty("FANOUT_LOG_TARGET", "System.err");
        }
        Secrets.fromEnvironment(System.getenv());
        switch (command) {
            case "dlq" -> System.exit(DeadLetterCommand.run(args, System.out, System.err));
            case "archive-classes" -> {
                String problem = ConfigFolder.problem();
                if (problem != null) {
                    System.err.println("ERROR " + problem);
                    System.exit(2);
                }
                System.exit(ClassArchiveCommand.run(System.out, System.err));
            }
            case "--help", "-h", "help" -> {
                System.out.println(USAGE);
                System.exit(0);
            }
            case "--version", "-V", "version" -> {
                System.out.println("foxtrackr-fanout " + version());
                System.exit(0);
            }
            case "", "check" -> {
            }
            default -> {
                System.err.println("ERROR unknown command '" + command + "'\n" + USAGE);
                System.exit(2);
            }
        }
        String problem = ConfigFolder.problem();
        if (problem != null) {
            System.err.println("ERROR " + problem);
            System.exit(2);
        }
        boolean check = command.equals("check");
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:" + ConfigFolder.properties());
        String routes = routesInConfigFolder();
        if (routes != null) {
            main.addOverrideProperty("camel.main.routes-include-pattern", routes);
        }
        main.addMainListener(new FanoutSetup(check));
        try {
            main.run(check ? java.util.Arrays.copyOfRange(args, 1, args.length) : args);
        } catch (Exception e) {
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof CheckCommand.Done done) {
                    System.exit(done.exitCode);
                }
                if (cause instanceof ConfigException) {
                    // An operator's mistake: the message says what to fix, a stack trace would only hide it.
                    System.err.println("ERROR " + cause.getMessage());
                    System.exit(2);
                }
                if (cause.getClass().getName().startsWith("org.snakeyaml.")) {
                    System.err.println("ERROR Route file not valid YAML: " + yamlProblem(cause.getMessage()));
                    System.exit(2);
                }
            }
            throw e;
        }
        System.exit(main.getExitCode());
    }
}
