package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A real Mosquitto broker on a free loopback port, with persistence on and no limit on queued messages. */
final class Mosquitto implements AutoCloseable {
    final int port;
    private final Path dir = Services.tempDir("mosquitto");
    private Process process;

    Mosquitto() {
        this(Services.freePort());
    }

    Mosquitto(int port) {
        this.port = port;
        try {
            Files.writeString(dir.resolve("mosquitto.conf"), String.join("\n",
                    "listener " + port + " 127.0.0.1",
                    "allow_anonymous true",
                    // as root, Mosquitto would switch to its own user, which cannot write this folder
                    "user " + System.getProperty("user.name"),
                    "persistence true",
                    "persistence_location " + dir + "/",
                    "max_queued_messages 0",
                    "max_inflight_messages 100",
                    ""));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Mosquitto start() {
        Path log = dir.resolve("mosquitto.log");
        process = Services.start(List.of(Services.binary("mosquitto", "mosquitto"), "-c", dir.resolve("mosquitto.conf").toString()),
                dir, log);
        Services.awaitListening(port, process, log);
        return this;
    }

    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    void stop() {
        Services.stop(process);
    }

    @Override
    public void close() {
        stop();
    }
}
