package com.foxtrackr.fanout.outbox;

import java.nio.file.Path;
import java.sql.SQLException;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.Secrets;
import com.foxtrackr.fanout.config.Settings;

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

    /** Where the outbox is, in words for the check and the status page. */
    public static String where(Settings settings, Path dataDir) {
        return shared(settings) ? Secrets.redact(settings.text(URL)) : dataDir.resolve("outbox.db").toAbsolutePath().toString();
    }
}
