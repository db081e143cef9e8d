package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.SQLException;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.Secrets;
import com.foxtrackr.fanout.config.Settings;
import com.foxtrackr.fanout.source.MqttInflightStore;
import com.foxtrackr.fanout.source.PostgresClusterService;
import com.foxtrackr.fanout.source.PostgresInflightDb;

/**
 * The outbox the configuration asks for: PostgreSQL, which several instances share, when fanout.outbox.url is set
 * (user and password from fanout.outbox.user and fanout.outbox.password, kept out of the URL); else the SQLite file
 * outbox.db in the data folder.
 */
public final class Stores {
    private static final String URL = "fanout.outbox.url";

    private Stores() {
    }

    public static boolean shared(Settings settings) {
        return settings.optional(URL).isPresent();
    }

    public static Outbox open(Settings settings, Path dataDir, String synchronous, long repeatWindowMs, long retentionMs) {
        if (!shared(settings)) {
            Path file = dataDir.resolve("outbox.db");
            try {
                return new SqliteOutbox(file, synchronous, repeatWindowMs, retentionMs);
            } catch (Exception e) {
                throw new ConfigException("fanout.data-dir", "('" + dataDir.toAbsolutePath() + "') cannot hold the outbox: " + e.getMessage());
            }
        }
        String url = settings.text(URL);
        if (!url.startsWith("jdbc:postgresql://")) {
            throw new ConfigException(URL, "is '" + url + "': write jdbc:postgresql://host:5432/database");
        }
        int connections = (int) settings.number("fanout.outbox.connections", 8, 2, 100);
        try {
            return new PostgresOutbox(url, settings.text("fanout.outbox.user"), settings.text("fanout.outbox.password"), connections,
                    repeatWindowMs, retentionMs);
        } catch (SQLException | RuntimeException e) {
            throw new ConfigException(URL, "('" + url + "') cannot hold the outbox: " + e.getMessage());
        }
    }

    /**
     * With a shared outbox: the cluster service of the sources' master: endpoints, on PostgreSQL advisory locks.
     * An instance standing by tries to take a source every fanout.outbox.lock-interval-ms, and its holder checks that
     * it still holds it as often.
     */
    public static PostgresClusterService sourceLocks(Settings settings) {
        String instance;
        try {
            instance = java.net.InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
        } catch (java.net.UnknownHostException e) {
            instance = "pid-" + ProcessHandle.current().pid();
        }
        return new PostgresClusterService(instance, settings.text(URL), settings.text("fanout.outbox.user"),
                settings.text("fanout.outbox.password"), settings.number("fanout.outbox.lock-interval-ms", 2000, 200, 60_000));
    }

    /** With a shared outbox: the MQTT clients' in-flight state in it too, for the instance that takes a source over. */
    public static MqttInflightStore.Db inflight(Settings settings) {
        return new PostgresInflightDb(settings.text(URL), settings.text("fanout.outbox.user"), settings.text("fanout.outbox.password"));
    }

    /** Where the outbox is, in words for the check and the status page. */
    public static String where(Settings settings, Path dataDir) {
        return shared(settings) ? Secrets.redact(settings.text(URL)) : dataDir.resolve("outbox.db").toAbsolutePath().toString();
    }
}
