package com.foxtrackr.fanout.outbox;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's tables in PostgreSQL, made or migrated at start-up, numbered by version in outbox_schema. Several
 * instances may start at once: the first takes a transaction-level advisory lock, the others wait for it and then
 * find the version made. Unlike SQLite's, every delivery has its row from the start (instances claim rows; a
 * cursor per sink could not be shared), and a claim leases its rows until {@code next_attempt_ms}.
 */
final class PostgresSchema {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
    /** The advisory lock key of the outbox's migrations: "fanout" in ASCII. */
    private static final long MIGRATION_LOCK = 0x66616e6f7574L;

    /** Each version's statements, in order; a new version is added at the end, never changed once released. */
    private static final List<List<String>> VERSIONS = List.of(List.of(
            """
            CREATE TABLE message (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              key text NOT NULL,
              topic text NOT NULL,
              kind text NOT NULL,
              device_id text,
              time_ms bigint NOT NULL,
              received_ms bigint NOT NULL,
              payload bytea NOT NULL)""",
            """
            CREATE TABLE delivery (
              message_id bigint NOT NULL,
              sink text NOT NULL,
              state text NOT NULL DEFAULT 'pending',
              attempts integer NOT NULL DEFAULT 0,
              next_attempt_ms bigint NOT NULL,
              first_error text,
              first_error_ms bigint,
              last_error text,
              last_error_ms bigint,
              batch bigint,
              PRIMARY KEY (message_id, sink))""",
            "CREATE INDEX delivery_due ON delivery (sink, state, next_attempt_ms, message_id)",
            "CREATE INDEX delivery_batched ON delivery (sink, batch) WHERE batch IS NOT NULL",
            "CREATE TABLE seen (time_ms bigint NOT NULL, key bytea NOT NULL, seen_ms bigint NOT NULL, PRIMARY KEY (time_ms, key))",
            "CREATE INDEX seen_by_time ON seen (seen_ms)",
            """
            CREATE TABLE rejected (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              topic text,
              reason text NOT NULL,
              received_ms bigint NOT NULL,
              payload bytea NOT NULL)""",
            "CREATE TABLE sink (name text PRIMARY KEY, added_ms bigint NOT NULL)",
            "CREATE VIEW outstanding AS SELECT message_id, sink, state FROM delivery"),
            // the MQTT clients' QoS 2 state, for the instance that takes a source over
            List.of("""
            CREATE TABLE mqtt_inflight (
              client text NOT NULL,
              key text NOT NULL,
              header bytea NOT NULL,
              payload bytea NOT NULL,
              PRIMARY KEY (client, key))"""));

    private PostgresSchema() {
    }

    static int version() {
        return VERSIONS.size();
    }

    static void create(OutboxDb db) throws SQLException {
        db.write(connection -> {
            try (Statement s = connection.createStatement()) {
                s.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
                s.execute("CREATE TABLE IF NOT EXISTS outbox_schema (version integer NOT NULL)");
                int found;
                try (ResultSet rs = s.executeQuery("SELECT max(version) FROM outbox_schema")) {
                    rs.next();
                    found = rs.getInt(1);
                }
                if (found > VERSIONS.size()) {
                    throw new SQLException("the outbox's tables are of version " + found + ", made by a later version of the"
                            + " product than this one (which knows up to " + VERSIONS.size() + ")");
                }
                for (int version = found + 1; version <= VERSIONS.size(); version++) {
                    for (String statement : VERSIONS.get(version - 1)) {
                        s.execute(statement);
                    }
                    s.execute("INSERT INTO outbox_schema (version) VALUES (" + version + ")");
                    LOG.info("outbox event=schema-migrated version={}", version);
                }
            }
            return null;
        });
    }
}
