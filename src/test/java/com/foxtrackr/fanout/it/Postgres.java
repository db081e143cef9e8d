package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server on a free loopback port, in a temporary folder, made with Debian's initdb and run with
 * pg_ctl; it never touches a PostgreSQL the machine may already run. PostgreSQL refuses to run as root: as root the
 * server runs as the user postgres (made by Debian's package), which owns its folder. Password authentication, as
 * an operator's server would have it.
 */
public final class Postgres implements AutoCloseable {
    public static final String USER = "fanout";
    public static final String PASSWORD = "outbox-secret-1";
    public static final String DATABASE = "fanout";

    public final int port = Services.freePort();
    private final Path dir = Services.tempDir("postgres");
    private final Path data = dir.resolve("data");
    private final boolean asRoot = "root".equals(System.getProperty("user.name"));
    /** fsync off for the tests (a crash of the server process loses nothing without it); on for a benchmark. */
    private boolean fsync;

    /** Writes reach the disk as they would in production: for a benchmark. */
    public Postgres durable() {
        fsync = true;
        return this;
    }

    public Postgres start() {
        try {
            if (asRoot) {
                owned(dir);
            }
            if (!Files.exists(data)) {
                Path passwordFile = dir.resolve("password");
                Files.writeString(passwordFile, PASSWORD + "\n");
                if (asRoot) {
                    owned(passwordFile);
                }
                run(binary("initdb"), "-D", data.toString(), "-U", USER, "--pwfile=" + passwordFile, "--auth=scram-sha-256",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
            }
            pgCtl("start", "-w", "-t", "60", "-l", dir.resolve("postgres.log").toString(), "-o",
                    "-p " + port + " -c listen_addresses=127.0.0.1 -k " + dir + " -c fsync=" + (fsync ? "on" : "off") + " -c max_connections=200");
            try (Connection db = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", USER, PASSWORD);
                 Statement s = db.createStatement()) {
                if (!s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'").next()) {
                    s.execute("CREATE DATABASE " + DATABASE);
                }
            }
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("cannot start PostgreSQL: " + e.getMessage() + "\n" + log(), e);
        }
        return this;
    }

    /** The URL the product takes as fanout.outbox.url. */
    public String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url(), USER, PASSWORD);
    }

    /** CPU time the server (the postmaster and its processes now running) has used so far. */
    public long cpuMs() {
        try {
            long postmaster = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
            return ProcessHandle.of(postmaster).map(p -> Stream.concat(Stream.of(p), p.descendants())
                    .mapToLong(Postgres::cpuMsIfRunning).sum()).orElse(0L);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long cpuMsIfRunning(ProcessHandle process) {
        try {
            return Services.cpuMs(process.pid());
        } catch (IllegalStateException ended) {
            return 0;
        }
    }

    /** Stops at once, as a crash would (the next start recovers from its log). */
    public void kill() {
        pgCtl("stop", "-m", "immediate", "-w");
    }

    public void stop() {
        if (Files.exists(data.resolve("postmaster.pid"))) {
            pgCtl("stop", "-m", "fast", "-w");
        }
    }

    @Override
    public void close() {
        stop();
    }

    private String log() {
        try {
            Path log = dir.resolve("postgres.log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private void pgCtl(String... args) {
        List<String> command = new ArrayList<>(List.of(binary("pg_ctl"), "-D", data.toString()));
        command.addAll(List.of(args));
        run(command.toArray(String[]::new));
    }

    private void run(String... command) {
        List<String> line = new ArrayList<>();
        if (asRoot) {
            line.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        line.addAll(List.of(command));
        try {
            Process p = new ProcessBuilder(line).directory(dir.toFile()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", line) + " failed: " + output + "\n" + log());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + line + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Debian keeps the server's binaries under /usr/lib/postgresql/<version>/bin, outside PATH. */
    private static String binary(String name) {
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.map(v -> v.resolve("bin").resolve(name)).filter(Files::isExecutable).sorted().reduce((a, b) -> b)
                    .map(Path::toString).orElseThrow();
        } catch (IOException | java.util.NoSuchElementException e) {
            return Services.binary(name, "postgresql");
        }
    }

    private static void owned(Path path) throws IOException {
        UserPrincipal postgres = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(path, postgres);
    }
}
