package com.foxtrackr.fanout.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Properties;

import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's MQTT broker: Moquette in this JVM, on 127.0.0.1 only, anonymous, in memory, and with its
 * telemetry to its authors' server off. A port that is taken (a system Mosquitto on 1883) is left alone.
 */
final class EmbeddedBroker implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBroker.class);

    private final Server server;
    private final int port;

    private EmbeddedBroker(Server server, int port) {
        this.server = server;
        this.port = port;
    }

    /** Starts on the wanted port, or on a free one when it is taken; 0 means any free port. */
    static EmbeddedBroker start(int wanted) throws IOException {
        if (wanted != 0) {
            if (free(wanted)) {
                try {
                    return bind(wanted);
                } catch (RuntimeException | IOException takenMeanwhile) {
                    LOG.debug("demo: port {} was taken between the look and the bind", wanted, takenMeanwhile);
                }
            }
            LOG.info("demo: port {} on {} is taken (another broker?): the embedded broker takes a free port instead", wanted, HOST);
        }
        // Moquette learns a port 0 bound to only later, on its own thread: pick one, and bind it
        RuntimeException lastFailure = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return bind(freePort());
            } catch (RuntimeException takenMeanwhile) {
                lastFailure = takenMeanwhile;
            }
        }
        throw lastFailure;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    private static EmbeddedBroker bind(int port) throws IOException {
        Properties config = new Properties();
        config.setProperty(IConfig.HOST_PROPERTY_NAME, HOST);
        config.setProperty(IConfig.PORT_PROPERTY_NAME, String.valueOf(port));
        config.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "false");
        config.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
        config.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, "true");
        // mosquitto_sub, as the README shows it, connects with an empty client id
        config.setProperty(io.moquette.BrokerConstants.ALLOW_ZERO_BYTE_CLIENT_ID_PROPERTY_NAME, "true");
        Server server = new Server();
        try {
            server.startServer(new MemoryConfig(config));
        } catch (RuntimeException | IOException e) {
            server.stopServer(); // its threads are already running
            throw e;
        }
        return new EmbeddedBroker(server, port);
    }

    /** Whether nothing listens on HOST:port, even on the wildcard address (Java's default SO_REUSEADDR would hide that elsewhere than Linux). */
    static boolean free(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(false);
            probe.bind(new InetSocketAddress(HOST, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    int port() {
        return port;
    }

    String url() {
        return "tcp://" + HOST + ":" + port;
    }

    @Override
    public void close() {
        server.stopServer();
    }
}
