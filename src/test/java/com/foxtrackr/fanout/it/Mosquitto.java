package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real Mosquitto broker on a free loopback port, with persistence on and no limit on queued messages.
 * Its listener can speak TLS and require users; a secured broker has a second, plain and anonymous listener
 * for the tests' publishers.
 */
final class Mosquitto implements AutoCloseable {
    final int port;
    private final int plainPort = Services.freePort();
    private final Path dir = Services.tempDir("mosquitto");
    private final Map<String, String> users = new LinkedHashMap<>();
    private final Map<String, List<String>> subscribeAllowed = new LinkedHashMap<>();
    private Certificates.Server tls;
    private Process process;

    Mosquitto() {
        this(Services.freePort());
    }

    Mosquitto(int port) {
        this.port = port;
    }

    /** The listener speaks TLS with this server certificate (the URL becomes ssl://localhost:port). */
    Mosquitto tls(Certificates.Server server) {
        tls = server;
        return this;
    }

    /** The listener requires a user name and password; users come from a password file made by mosquitto_passwd. */
    Mosquitto user(String name, String password) {
        users.put(name, password);
        return this;
    }

    /**
     * The user may subscribe to these filters only; any other subscription gets SUBACK 0x80. Mosquitto 2.0's
     * acl_file does not check subscriptions (it drops denied messages at delivery), so this uses its
     * dynamic-security plugin, with the users' hashes from the password file.
     */
    Mosquitto allowSubscribe(String user, String... filters) {
        subscribeAllowed.put(user, List.of(filters));
        return this;
    }

    private boolean secured() {
        return tls != null || !users.isEmpty();
    }

    private void configure() throws IOException, InterruptedException {
        List<String> conf = new ArrayList<>(List.of(
                // as root, Mosquitto would switch to its own user, which cannot write this folder
                "user " + System.getProperty("user.name"),
                "persistence true",
                "persistence_location " + dir + "/",
                "max_queued_messages 0",
                "max_inflight_messages 100"));
        if (!secured()) {
            conf.addAll(List.of("listener " + port + " 127.0.0.1", "allow_anonymous true"));
        } else {
            conf.add(0, "per_listener_settings true");
            conf.addAll(List.of("listener " + port + " 127.0.0.1", "allow_anonymous " + users.isEmpty()));
            if (tls != null) {
                conf.addAll(List.of("cafile " + tls.ca(), "certfile " + tls.cert(), "keyfile " + tls.key()));
            }
            if (!users.isEmpty()) {
                Path passwords = dir.resolve("passwd");
                Files.deleteIfExists(passwords);
                Files.createFile(passwords);
                for (Map.Entry<String, String> user : users.entrySet()) {
                    run(Services.binary("mosquitto_passwd", "mosquitto"), "-b", passwords.toString(), user.getKey(), user.getValue());
                }
                if (subscribeAllowed.isEmpty()) {
                    conf.add("password_file " + passwords);
                } else {
                    Files.writeString(dir.resolve("dynsec.json"), dynamicSecurity(Files.readAllLines(passwords)));
                    conf.addAll(List.of("plugin " + dynamicSecurityPlugin(), "plugin_opt_config_file " + dir.resolve("dynsec.json")));
                }
            }
            conf.addAll(List.of("listener " + plainPort + " 127.0.0.1", "allow_anonymous true"));
        }
        conf.add("");
        Files.writeString(dir.resolve("mosquitto.conf"), String.join("\n", conf));
    }

    /** The dynamic-security plugin's configuration: each user with its password hash and the filters it may subscribe to. */
    private String dynamicSecurity(List<String> passwordLines) {
        List<String> clients = new ArrayList<>();
        List<String> roles = new ArrayList<>();
        for (String line : passwordLines) {
            String user = line.substring(0, line.indexOf(':'));
            String[] hash = line.substring(line.indexOf(':') + 1).split("\\$"); // "", "7", iterations, salt, hash
            clients.add("{\"username\":\"" + user + "\",\"salt\":\"" + hash[3] + "\",\"password\":\"" + hash[4]
                    + "\",\"iterations\":" + hash[2] + ",\"roles\":[{\"rolename\":\"" + user + "\"}]}");
            List<String> acls = subscribeAllowed.getOrDefault(user, List.of()).stream()
                    .map(filter -> "{\"acltype\":\"subscribePattern\",\"topic\":\"" + filter + "\",\"allow\":true}").toList();
            roles.add("{\"rolename\":\"" + user + "\",\"acls\":[" + String.join(",", acls) + "]}");
        }
        return "{\"defaultACLAccess\":{\"publishClientSend\":false,\"publishClientReceive\":true,\"subscribe\":false,"
                + "\"unsubscribe\":true},\"clients\":[" + String.join(",", clients) + "],\"groups\":[],\"roles\":["
                + String.join(",", roles) + "]}";
    }

    /** The plugin ships with Debian's mosquitto package, in the architecture's library folder. */
    private static Path dynamicSecurityPlugin() throws IOException {
        try (var dirs = Files.list(Path.of("/usr/lib"))) {
            return dirs.map(d -> d.resolve("mosquitto_dynamic_security.so")).filter(Files::isRegularFile).findFirst()
                    .orElseThrow(() -> new IllegalStateException("mosquitto_dynamic_security.so is not installed: apt-get install mosquitto"));
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
        }
    }

    Mosquitto start() {
        try {
            configure();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        Path log = log();
        process = Services.start(List.of(Services.binary("mosquitto", "mosquitto"), "-c", dir.resolve("mosquitto.conf").toString()),
                dir, log);
        Services.awaitListening(port, process, log);
        if (secured()) {
            Services.awaitListening(plainPort, process, log);
        }
        return this;
    }

    /** The broker's own log (connections, refusals) since its last start. */
    Path log() {
        return dir.resolve("mosquitto.log");
    }

    /** The URL the bundle connects to. */
    String url() {
        return tls != null ? "ssl://localhost:" + port : "tcp://127.0.0.1:" + port;
    }

    /** Where the tests' publishers connect: plain and anonymous. */
    int publisherPort() {
        return secured() ? plainPort : port;
    }

    String publisherUrl() {
        return "tcp://127.0.0.1:" + publisherPort();
    }

    void stop() {
        Services.stop(process);
    }

    /** CPU time the server has used so far. */
    long cpuMs() {
        return Services.cpuMs(process.pid());
    }

    @Override
    public void close() {
        stop();
    }
}
