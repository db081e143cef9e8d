package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's tables in SQLite, made or migrated at start-up (an outbox of an earlier version is rebuilt once in
 * this version's layout, keeping every row), and the SQL that the outbox's parts share.
 */
public final class SqliteSchema {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

    private SqliteSchema() {
    }

    /** Makes or migrates the tables, on the write connection before it leaves auto-commit. */
    static void create(Connection db, String synchronous) throws SQLException {
        try (Statement s = db.createStatement()) {
            giveBackFreedSpace(s);
            s.execute("PRAGMA journal_mode=WAL");
            // the write-ahead log shrinks back to this after a checkpoint, once a backlog has drained
            s.execute("PRAGMA journal_size_limit=" + WAL_LIMIT_BYTES);
            // NORMAL: a commit survives a killed process; FULL: it also survives a power cut, at a cost.
            s.execute("PRAGMA synchronous=" + synchronous);
            s.execute("PRAGMA busy_timeout=10000");
            s.execute(SEEN_TABLE.formatted("seen"));
            // keys kept by earlier versions (32 hex digits, or 16 bytes without the message's time) go on being
            // recognised until they expire
            rebuild(s, "seen", SEEN_TABLE, "time_ms", "SELECT " + TIME_UNKNOWN
                    + ", CASE WHEN typeof(key) = 'text' THEN unhex(key) ELSE key END, seen_ms FROM seen");
            s.execute("CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_ms)");
            // AUTOINCREMENT: an id is never given twice, even once the messages with the highest ids are gone;
            // an archive batch is named by its first message's id, so a reused id would overwrite an object
            s.execute(MESSAGE_TABLE.formatted("message"));
            rebuild(s, "message", MESSAGE_TABLE, "AUTOINCREMENT",
                    "SELECT id, key, topic, kind, device_id, time_ms, received_ms, payload, NULL FROM message");
            addColumn(s, "message", "sinks", "TEXT");
            // the messages that not every sink takes, for the backlog counts (none when every sink takes all)
            s.execute("CREATE INDEX IF NOT EXISTS message_for_some ON message (sinks) WHERE sinks IS NOT NULL");
            s.execute("""
                    CREATE TABLE IF NOT EXISTS delivery (
                      message_id INTEGER NOT NULL REFERENCES message (id),
                      sink TEXT NOT NULL,
                      state TEXT NOT NULL DEFAULT 'pending',
                      attempts INTEGER NOT NULL DEFAULT 0,
                      next_attempt_ms INTEGER NOT NULL,
                      first_error TEXT,
                      first_error_ms INTEGER,
                      last_error TEXT,
                      last_error_ms INTEGER,
                      batch INTEGER,
                      PRIMARY KEY (message_id, sink)) WITHOUT ROWID""");
            s.execute("CREATE INDEX IF NOT EXISTS delivery_due ON delivery (sink, state, next_attempt_ms, message_id)");
            // the archive's unfinished batch, found at each claim without reading every pending delivery
            s.execute("CREATE INDEX IF NOT EXISTS delivery_batched ON delivery (sink, state, batch) WHERE batch IS NOT NULL");
            s.execute("""
                    CREATE TABLE IF NOT EXISTS sink_cursor (
                      sink TEXT PRIMARY KEY,
                      through INTEGER NOT NULL,
                      batch INTEGER,
                      batch_through INTEGER)""");
            // what each sink has still to do, as if every message had a delivery row per sink that takes it:
            // for the backlog counts and for whoever inspects the outbox
            s.execute("DROP VIEW IF EXISTS outstanding");
            s.execute("""
                    CREATE VIEW outstanding AS
                      SELECT message_id, sink, state FROM delivery
                      UNION ALL
                      SELECT m.id, c.sink, 'pending' FROM sink_cursor c JOIN message m ON m.id > c.through
                      WHERE\s""" + takenBy("m", "c.sink"));
            s.execute("""
                    CREATE TABLE IF NOT EXISTS rejected (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      topic TEXT,
                      reason TEXT NOT NULL,
                      received_ms INTEGER NOT NULL,
                      payload BLOB NOT NULL)""");
        }
    }

    static final String MESSAGE_TABLE = """
            CREATE TABLE IF NOT EXISTS %s (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              key TEXT NOT NULL,
              topic TEXT NOT NULL,
              kind TEXT NOT NULL,
              device_id TEXT NOT NULL,
              time_ms INTEGER NOT NULL,
              received_ms INTEGER NOT NULL,
              payload BLOB NOT NULL,
              -- the sinks that take it, comma-separated; NULL: every sink configured when it came
              sinks TEXT)""";

    /**
     * A week of keys is the outbox's largest table. Ordered by the message's own time, then its key: messages
     * come in roughly the order of their time, so a group commit writes the table's last few pages instead of
     * one page anywhere in the table for each key, however many keys are kept. A repeat has the same time and key.
     */
    static final String SEEN_TABLE = """
            CREATE TABLE IF NOT EXISTS %s (
              time_ms INTEGER NOT NULL,
              key BLOB NOT NULL,
              seen_ms INTEGER NOT NULL,
              PRIMARY KEY (time_ms, key)) WITHOUT ROWID""";
    /** The time of the keys that an earlier version kept: it did not keep the message's time (and kept 16 bytes). */
    static final long TIME_UNKNOWN = -1;

    /** The driver would otherwise run a query for the new row's id after every insert; nothing here reads it. */
    public static final java.util.Properties WITHOUT_GENERATED_KEYS = new java.util.Properties();
    static {
        WITHOUT_GENERATED_KEYS.setProperty("jdbc.get_generated_keys", "false");
    }
    static final long WAL_LIMIT_BYTES = 64L << 20;

    /**
     * A drained backlog leaves its pages free in the file; with incremental auto-vacuum, maintenance gives them
     * back to the filesystem. The mode must be set before the first table; an outbox made without it is
     * rebuilt once with VACUUM.
     */
    static void giveBackFreedSpace(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("PRAGMA auto_vacuum")) {
            if (rs.next() && rs.getInt(1) == 2) {
                return;
            }
        }
        s.execute("PRAGMA auto_vacuum=INCREMENTAL");
        boolean hasTables;
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master")) {
            hasTables = rs.next() && rs.getInt(1) > 0;
        }
        if (hasTables) {
            LOG.info("outbox event=rebuilding note=\"once, so that the space of delivered messages goes back to the filesystem\"");
            s.execute("VACUUM");
        }
    }

    /**
     * Rebuilds a table made by an earlier version, whose definition lacks {@code mark}, as {@code definition}
     * says, keeping every row: {@code rows} selects them from the old table.
     */
    static void rebuild(Statement s, String table, String definition, String mark, String rows) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'")) {
            if (!rs.next() || rs.getString(1).contains(mark)) {
                return;
            }
        }
        // a week of keys can take minutes to copy: say why the start waits
        LOG.info("outbox event=rebuilding table={} note=\"once, in the layout of this version, keeping every row\"", table);
        s.execute("BEGIN");
        s.execute(definition.formatted(table + "_rebuilt"));
        s.execute("INSERT INTO " + table + "_rebuilt " + rows);
        s.execute("DROP TABLE " + table);
        s.execute("ALTER TABLE " + table + "_rebuilt RENAME TO " + table);
        s.execute("COMMIT");
    }

    /** Adds a column that a table made by an earlier version lacks; its rows get NULL. */
    static void addColumn(Statement s, String table, String column, String type) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'")) {
            if (rs.next()) {
                return;
            }
        }
        s.execute("ALTER TABLE " + table + " ADD COLUMN " + column + " " + type);
    }

    /**
     * SQL: the sink that {@code sink} (an SQL expression) names takes the message of table or alias {@code message}:
     * every sink does when its column {@code sinks} is NULL, else the sinks it lists.
     */
    static String takenBy(String message, String sink) {
        return "(%1$s.sinks IS NULL OR instr(',' || %1$s.sinks || ',', ',' || %2$s || ',') > 0)".formatted(message, sink);
    }

    /** SQL: the last message id given (AUTOINCREMENT keeps it even once the message is gone), 0 if none. */
    public static final String LAST_MESSAGE_ID = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'message'), 0)";

    /** A condition on message ids: the message is behind every sink's cursor. */
    static final String PASSED_BY_EVERY_CURSOR = "id <= (SELECT min(through) FROM sink_cursor)";

}
