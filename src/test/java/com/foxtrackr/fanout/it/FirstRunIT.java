package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The first run: java -jar with nothing configured starts an embedded broker and a simulated fleet whose
 * messages take the real routes to the archive (a local directory) and InfluxDB; a configured broker turns
 * the demo off.
 */
class FirstRunIT {
    static final Pattern BANNER = Pattern.compile("demo: embedded broker on 127\\.0\\.0\\.1:(\\d+), simulated fleet of 3 devices;"
            + " configure fanout\\.mqtt\\.url to use the vendor's broker");
    static final Set<String> DEVICES = Set.of("demo-01", "demo-02", "demo-03");

    // Shipped application.properties and routes/, no FANOUT_* variable but InfluxDB's URL (and the HTTP port, and
    // three rounds of the fleet, so that the counts are known): within a minute of the start, the banner says
    // demo, health shows the source UP on the embedded broker, and the 3 devices' 9 battery and 9 temperature
    // messages are each once in the local archive and in InfluxDB; the embedded broker stops with the bundle.
    @Test
    void should_show_the_product_working_with_nothing_configured() throws Exception {
        boolean standardPortTaken = listening(1883);
        Path home = RouteEditIT.copyOfProject();
        // as the bundle names it: under its working folder's real path
        Path archive = home.toRealPath().resolve("data/archive");
        try (Influx influx = new Influx().start().createDatabase("foxtrackr")) {
            Bundle bundle = Bundle.unconfigured(home)
                    .with("FANOUT_SINK_INFLUX_URL", influx.url())
                    .with("FANOUT_DEMO_ROUNDS", "3");
            bundle.launch();
            long started = System.nanoTime();
            int port;
            try {
                bundle.awaitLog("look at: ");
                String output = bundle.output();
                Matcher banner = BANNER.matcher(output);
                assertTrue(banner.find(), output);
                port = Integer.parseInt(banner.group(1));
                assertTrue(output.contains("demo: each device publishes a battery and a temperature message every 5000 ms"
                        + " to foxtrackr/demo_fleet/V3.0/bat and .../temp, 3 times"), output);
                assertTrue(output.contains("sinks: influx (influxdb " + influx.url() + "), archive (directory " + archive + ")"), output);
                String http = "http://127.0.0.1:" + bundle.httpPort;
                assertTrue(output.contains("look at: status page " + http + "/, health " + http + "/observe/health?data=true,"
                        + " metrics " + http + "/observe/metrics"), output);
                assertFalse(output.contains("broker: "), output);
                if (standardPortTaken) {
                    assertNotEquals(1883, port, "1883 is another broker's");
                } else {
                    assertEquals(1883, port);
                }
                // the bundle listens on the embedded broker's port and its HTTP port, on loopback, and nowhere else
                assertEquals(Set.of("127.0.0.1:" + port, "127.0.0.1:" + bundle.httpPort), listeningAddresses(bundle.pid()));

                // the README's watch command, as written, sees the fleet's messages
                String watch = "mosquitto_sub -h 127.0.0.1 -p <port> -t 'foxtrackr/#' -v";
                assertTrue(Files.readString(Bundle.HOME.resolve("README.md")).contains("`" + watch + "`"), "the README shows " + watch);
                Process sub = new ProcessBuilder("bash", "-c", watch.replace("<port>", String.valueOf(port)) + " -C 1 -W 30")
                        .redirectErrorStream(true).start();
                String seen = new String(sub.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertEquals(0, sub.waitFor(), seen);
                assertTrue(seen.startsWith("foxtrackr/demo_fleet/V3.0/"), seen);

                await().atMost(Duration.ofSeconds(60)).until(() -> "UP".equals(bundle.health().check("source-fleet")));
                assertEquals("tcp://127.0.0.1:" + port, bundle.health().data("source-fleet").path("url").asText());
                await().atMost(Duration.ofSeconds(60)).until(() -> archived(archive).size() == 18);
                await().atMost(Duration.ofSeconds(10)).until(() -> influx.count("foxtrackr", "battery", "level") == 9
                        && influx.count("foxtrackr", "temperature", "value") == 9);
                assertTrue(System.nanoTime() - started < 60_000_000_000L, "within a minute of the start");

                List<JsonNode> messages = archived(archive);
                assertEquals(18, new HashSet<>(messages).size(), "each message once");
                double levels = 0;
                double temperatures = 0;
                for (JsonNode message : messages) {
                    assertTrue(DEVICES.contains(message.path("deviceId").asText()), message.toString());
                    assertEquals(3, message.path("version").asInt());
                    assertTrue(message.path("timeMs").isIntegralNumber());
                    if (message.path("messageType").asInt() == 1) {
                        assertEquals(List.of("level", "voltage", "charging"), fieldNames(message.path("battery")), message.toString());
                        levels += message.path("battery").path("level").asDouble();
                    } else {
                        assertEquals(2, message.path("messageType").asInt(), message.toString());
                        assertEquals(List.of("value"), fieldNames(message.path("temperature")), message.toString());
                        temperatures += message.path("temperature").path("value").asDouble();
                    }
                }
                assertEquals(9, messages.stream().filter(m -> m.has("battery")).count());
                // InfluxDB holds the archived values: the same sums, the same devices, the fleet's group
                assertEquals(levels, sum(influx, "battery", "level"), 1e-9);
                assertEquals(temperatures, sum(influx, "temperature", "value"), 1e-9);
                assertEquals(new TreeSet<>(DEVICES), new TreeSet<>(influx.tagValues("foxtrackr", "battery", "deviceId")));
                assertEquals(List.of("demo_fleet"), influx.tagValues("foxtrackr", "temperature", "group"));
                Bundle.Health health = bundle.health();
                assertEquals(200, health.status(), health.body().toString());
                assertEquals(18, health.data("source-fleet").path("received").asLong());
                assertEquals("UP", health.check("sink-archive"));
                assertEquals(18, bundle.metric("fanout_messages_stored_total"));
                assertEquals(0, bundle.metric("fanout_messages_rejected_total"));
            } finally {
                bundle.stop();
            }
            assertFalse(listening(port), "the embedded broker stops with the bundle");

            // check reads the same configuration: the demo's source has no broker to try, the archive is the demo's
            Bundle.CliResult check = bundle.command("check");
            String out = check.text();
            assertEquals(0, check.exit(), out + check.err());
            assertTrue(out.matches("(?s).*\\nsource fleet +ok +demo: fanout\\.mqtt\\.url is not set; a run starts an embedded broker .*"), out);
            assertTrue(out.contains("can write in " + archive + "\n"), out);
            assertTrue(out.matches("(?s).*\\nsink influx +ok +InfluxDB .*"), out);
        }
    }

    // A configured port that something else listens on (here the test; on many machines a Mosquitto on 1883) is
    // left alone: the embedded broker takes a free one, says which, and the fleet's messages arrive.
    @Test
    void should_leave_a_taken_port_alone() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Bundle bundle = Bundle.unconfigured(RouteEditIT.copyOfProject())
                    .with("FANOUT_DEMO_BROKER_PORT", String.valueOf(taken.getLocalPort()))
                    .with("FANOUT_DEMO_INTERVAL_MS", "200")
                    .with("FANOUT_SINK_INFLUX_URL", "http://127.0.0.1:" + Services.freePort());
            try (bundle) {
                bundle.launch();
                bundle.awaitLog("look at: ");
                String output = bundle.output();
                assertTrue(output.contains("demo: port " + taken.getLocalPort() + " on 127.0.0.1 is taken (another broker?):"
                        + " the embedded broker takes a free port instead"), output);
                Matcher banner = BANNER.matcher(output);
                assertTrue(banner.find(), output);
                int port = Integer.parseInt(banner.group(1));
                assertNotEquals(taken.getLocalPort(), port);
                assertTrue(listeningAddresses(bundle.pid()).contains("127.0.0.1:" + port));
                assertFalse(listeningAddresses(bundle.pid()).contains("127.0.0.1:" + taken.getLocalPort()));
                await().atMost(Duration.ofSeconds(30)).until(() -> bundle.health().data("source-fleet").path("received").asLong() >= 6);
                // InfluxDB is not there: its deliveries wait in the outbox, and health says so
                await().atMost(Duration.ofSeconds(30)).until(() -> "DOWN".equals(bundle.health().check("sink-influx"))
                        && bundle.health().data("sink-influx").path("pending").asLong() > 0);
            }
        }
    }

    // FANOUT_MQTT_URL set: no embedded broker (the bundle listens on its HTTP port alone), no fleet, no demo
    // archive; the banner names the broker.
    @Test
    void should_start_no_embedded_broker_once_a_broker_is_configured() throws Exception {
        Path home = RouteEditIT.copyOfProject();
        int demoPort = Services.freePort();
        try (Mosquitto broker = new Mosquitto().start(); Influx influx = new Influx().start().createDatabase("foxtrackr");
                Bundle bundle = new Bundle(home, broker, influx).with("FANOUT_DEMO_BROKER_PORT", String.valueOf(demoPort))) {
            bundle.launch();
            bundle.awaitLog("look at: ");
            String output = bundle.output();
            assertTrue(output.contains("broker: " + broker.url() + " (fanout.mqtt.url), sources [fleet]"), output);
            assertTrue(output.contains("sinks: influx (influxdb " + influx.url() + ")\n"), output);
            assertFalse(output.contains("demo:"), output);
            assertEquals(Set.of("127.0.0.1:" + bundle.httpPort), listeningAddresses(bundle.pid()));
            assertFalse(listening(demoPort));
            await().atMost(Duration.ofSeconds(30)).until(() -> "UP".equals(bundle.health().check("source-fleet")));
            assertEquals(broker.url(), bundle.health().data("source-fleet").path("url").asText());
            assertEquals(null, bundle.health().check("sink-archive"));
            assertFalse(Files.exists(home.resolve("data")), "nothing written in the working folder");
        }
    }

    /** Every payload in the directory archive, parsed. */
    static List<JsonNode> archived(Path archive) throws IOException {
        List<JsonNode> messages = new ArrayList<>();
        if (!Files.isDirectory(archive)) {
            return messages;
        }
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> files = Files.walk(archive)) {
            // not the file being written (.writing-<name>), which is renamed when complete
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".ndjson.gz")
                    && !f.getFileName().toString().startsWith(".")).toList()) {
                for (byte[] line : S3Proxy.payloads(Files.readAllBytes(file))) {
                    messages.add(json.readTree(new String(line, StandardCharsets.UTF_8)));
                }
            }
        }
        return messages;
    }

    static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static double sum(Influx influx, String measurement, String field) {
        return influx.query("foxtrackr", "SELECT sum(\"" + field + "\") FROM \"" + measurement + "\"").at("/results/0/series/0/values/0/1").asDouble();
    }

    static boolean listening(int port) {
        try (Socket ignored = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The addresses (ip:port) a process listens on, from Linux's /proc: its sockets in LISTEN state. */
    static Set<String> listeningAddresses(long pid) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException closedMeanwhile) {
                    // a descriptor closed while listed
                }
            }
        }
        Set<String> addresses = new HashSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                String[] columns = line.trim().split("\\s+");
                // local address (hex ip:port), state 0A = LISTEN, inode
                if (columns[3].equals("0A") && inodes.contains(columns[9])) {
                    addresses.add(address(columns[1]));
                }
            }
        }
        return addresses;
    }

    private static String address(String hex) {
        String[] parts = hex.split(":");
        int port = Integer.parseInt(parts[1], 16);
        String ip = parts[0];
        if (ip.startsWith("0000000000000000FFFF0000")) {
            ip = ip.substring(24); // an IPv4 address on a dual-stack socket, as Java opens them
        }
        if (ip.length() == 8) {
            // IPv4, little-endian
            return Integer.parseInt(ip.substring(6, 8), 16) + "." + Integer.parseInt(ip.substring(4, 6), 16) + "."
                    + Integer.parseInt(ip.substring(2, 4), 16) + "." + Integer.parseInt(ip.substring(0, 2), 16) + ":" + port;
        }
        return "[" + ip + "]:" + port;
    }
}
