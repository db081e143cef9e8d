package com.foxtrackr.fanout.source;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

import org.eclipse.paho.client.mqttv3.MqttClientPersistence;
import org.eclipse.paho.client.mqttv3.MqttPersistable;
import org.eclipse.paho.client.mqttv3.MqttPersistenceException;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttWireMessage;

import com.foxtrackr.fanout.outbox.SqliteSchema;

/**
 * Paho's in-flight state (a QoS 2 message between PUBREC and PUBCOMP) in SQLite, data/mqtt-inflight.db, or with a
 * shared outbox in its PostgreSQL, where whichever instance holds the source finds it.
 * Paho's own file persistence writes and fsyncs one file per message, which stalled ingestion for
 * seconds at a time; here a record is one small commit, as durable as the outbox (it survives a killed
 * process; with fanout.outbox.synchronous=FULL also a power cut). A file of its own, so that these commits
 * never wait for the outbox's.
 */
public class MqttInflightStore implements MqttClientPersistence {
    /** Paho's key prefix for a received QoS 2 message: "r-" and its packet id. */
    private static final String RECEIVED = "r-";

    private final Db db;
    private final Rescue rescue;
    private String client;

    /**
     * Stores a message through the ingest route without acknowledging it. Called when the broker sends a new
     * QoS 2 message with a packet id that is still in flight: Mosquitto 2.0 does that once more than 65,535
     * messages are queued for one client (its ids wrap). Paho keys its state by packet id, so it would
     * deliver only one of the two and acknowledge both; storing both first means the broker's confused
     * flow that follows (a protocol error, a reconnect, a redelivery) costs repeats, never a message.
     */
    public interface Rescue {
        void store(MqttPublish inFlight, MqttPublish arriving) throws Exception;
    }

    public MqttInflightStore(Db db, Rescue rescue) {
        this.db = db;
        this.rescue = rescue;
    }

    /** Where the state is kept: SQLite beside one instance, PostgreSQL when instances share a source. */
    public interface Db extends AutoCloseable {
        void put(String client, String key, byte[] header, byte[] payload) throws SQLException;

        byte[][] get(String client, String key) throws SQLException;

        /**
         * Not committed on its own: it goes with the next put. Should that never come (a crash), Paho finds
         * a record of a message that is complete, which the broker never releases again: it stays unused.
         */
        void remove(String client, String key) throws SQLException;

        List<String> keys(String client) throws SQLException;

        void clear(String client) throws SQLException;

        @Override
        void close() throws SQLException;
    }

    /** The SQLite file, shared by the sources' clients. */
    public static final class SqliteDb implements Db {
        private final Connection connection;

        public SqliteDb(Path file, String synchronous) throws SQLException {
            connection = DriverManager.getConnection("jdbc:sqlite:" + file, SqliteSchema.WITHOUT_GENERATED_KEYS);
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=" + synchronous);
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("""
                        CREATE TABLE IF NOT EXISTS inflight (
                          client TEXT NOT NULL,
                          key TEXT NOT NULL,
                          header BLOB NOT NULL,
                          payload BLOB NOT NULL,
                          PRIMARY KEY (client, key)) WITHOUT ROWID""");
            }
            connection.setAutoCommit(false);
            // prepared once: these run for every QoS 2 message, on Paho's receiving thread
            insert = connection.prepareStatement("INSERT OR REPLACE INTO inflight (client, key, header, payload) VALUES (?, ?, ?, ?)");
            select = connection.prepareStatement("SELECT header, payload FROM inflight WHERE client = ? AND key = ?");
            delete = connection.prepareStatement("DELETE FROM inflight WHERE client = ? AND key = ?");
        }

        private final PreparedStatement insert;
        private final PreparedStatement select;
        private final PreparedStatement delete;

        @Override
        public synchronized void put(String client, String key, byte[] header, byte[] payload) throws SQLException {
            insert.setString(1, client);
            insert.setString(2, key);
            insert.setBytes(3, header);
            insert.setBytes(4, payload);
            insert.executeUpdate();
            connection.commit();
        }

        @Override
        public synchronized byte[][] get(String client, String key) throws SQLException {
            select.setString(1, client);
            select.setString(2, key);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? new byte[][] {rs.getBytes(1), rs.getBytes(2)} : null;
            }
        }

        @Override
        public synchronized void remove(String client, String key) throws SQLException {
            delete.setString(1, client);
            delete.setString(2, key);
            delete.executeUpdate();
        }

        @Override
        public synchronized List<String> keys(String client) throws SQLException {
            List<String> keys = new ArrayList<>();
            try (PreparedStatement q = connection.prepareStatement("SELECT key FROM inflight WHERE client = ?")) {
                q.setString(1, client);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        keys.add(rs.getString(1));
                    }
                }
            }
            return keys;
        }

        @Override
        public synchronized void clear(String client) throws SQLException {
            execute("DELETE FROM inflight WHERE client = ?", client);
            connection.commit();
        }

        private void execute(String sql, Object... parameters) throws SQLException {
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                for (int i = 0; i < parameters.length; i++) {
                    statement.setObject(i + 1, parameters[i]);
                }
                statement.executeUpdate();
            }
        }

        @Override
        public synchronized void close() throws SQLException {
            connection.commit();
            connection.close();
        }
    }

    /**
     * The table mqtt_inflight of the PostgreSQL outbox, which the instances sharing a source share too: the instance
     * that takes a source over completes what the previous holder had received (a QoS 2 message is acknowledged with
     * PUBREC once it is here, and handed to the route on PUBREL). One connection, reopened after a failure.
     */
    public static final class PostgresDb implements Db {
        private final String url;
        private final java.util.Properties credentials = new java.util.Properties();
        private Connection connection;

        public PostgresDb(String url, String user, String password) {
            this.url = url;
            credentials.setProperty("user", user);
            credentials.setProperty("password", password);
        }

        private Connection connection() throws SQLException {
            if (connection == null) {
                // the driver itself: in the one-jar build DriverManager finds only SQLite's
                connection = new org.postgresql.Driver().connect(url, credentials);
                connection.setAutoCommit(false);
            }
            return connection;
        }

        private interface Work<T> {
            T run(Connection db) throws SQLException;
        }

        /** A connection that failed is dropped (its transaction with it) and the next call opens another. */
        private <T> T on(Work<T> work) throws SQLException {
            try {
                return work.run(connection());
            } catch (SQLException e) {
                if (connection != null) {
                    try {
                        connection.close();
                    } catch (SQLException ignored) {
                        // gone either way
                    }
                    connection = null;
                }
                throw e;
            }
        }

        @Override
        public synchronized void put(String client, String key, byte[] header, byte[] payload) throws SQLException {
            on(db -> {
                try (PreparedStatement q = db.prepareStatement("""
                        INSERT INTO mqtt_inflight (client, key, header, payload) VALUES (?, ?, ?, ?)
                        ON CONFLICT (client, key) DO UPDATE SET header = excluded.header, payload = excluded.payload""")) {
                    q.setString(1, client);
                    q.setString(2, key);
                    q.setBytes(3, header);
                    q.setBytes(4, payload);
                    q.executeUpdate();
                }
                db.commit();
                return null;
            });
        }

        @Override
        public synchronized byte[][] get(String client, String key) throws SQLException {
            return on(db -> {
                try (PreparedStatement q = db.prepareStatement("SELECT header, payload FROM mqtt_inflight WHERE client = ? AND key = ?")) {
                    q.setString(1, client);
                    q.setString(2, key);
                    try (ResultSet rs = q.executeQuery()) {
                        return rs.next() ? new byte[][] {rs.getBytes(1), rs.getBytes(2)} : null;
                    }
                }
            });
        }

        @Override
        public synchronized void remove(String client, String key) throws SQLException {
            on(db -> {
                try (PreparedStatement q = db.prepareStatement("DELETE FROM mqtt_inflight WHERE client = ? AND key = ?")) {
                    q.setString(1, client);
                    q.setString(2, key);
                    return q.executeUpdate();
                }
            });
        }

        @Override
        public synchronized List<String> keys(String client) throws SQLException {
            return on(db -> {
                List<String> keys = new ArrayList<>();
                try (PreparedStatement q = db.prepareStatement("SELECT key FROM mqtt_inflight WHERE client = ?")) {
                    q.setString(1, client);
                    try (ResultSet rs = q.executeQuery()) {
                        while (rs.next()) {
                            keys.add(rs.getString(1));
                        }
                    }
                }
                db.commit();
                return keys;
            });
        }

        @Override
        public synchronized void clear(String client) throws SQLException {
            on(db -> {
                try (PreparedStatement q = db.prepareStatement("DELETE FROM mqtt_inflight WHERE client = ?")) {
                    q.setString(1, client);
                    q.executeUpdate();
                }
                db.commit();
                return null;
            });
        }

        @Override
        public synchronized void close() throws SQLException {
            if (connection != null) {
                connection.commit();
                connection.close();
                connection = null;
            }
        }
    }

    private record Entry(byte[] header, byte[] payload) implements MqttPersistable {
        @Override
        public byte[] getHeaderBytes() {
            return header;
        }

        @Override
        public int getHeaderLength() {
            return header.length;
        }

        @Override
        public int getHeaderOffset() {
            return 0;
        }

        @Override
        public byte[] getPayloadBytes() {
            return payload;
        }

        @Override
        public int getPayloadLength() {
            return payload.length;
        }

        @Override
        public int getPayloadOffset() {
            return 0;
        }
    }

    @Override
    public void open(String clientId, String serverUri) {
        client = clientId + "@" + serverUri;
    }

    @Override
    public void close() {
    }

    @Override
    public void put(String key, MqttPersistable data) throws MqttPersistenceException {
        byte[] header = slice(data.getHeaderBytes(), data.getHeaderOffset(), data.getHeaderLength());
        byte[] payload = slice(data.getPayloadBytes(), data.getPayloadOffset(), data.getPayloadLength());
        try {
            if (key.startsWith(RECEIVED)) {
                byte[][] previous = db.get(client, key);
                // the same payload again is the broker's redelivery of the same message, not a reused id
                if (previous != null && !Arrays.equals(previous[1], payload)) {
                    rescue.store((MqttPublish) MqttWireMessage.createWireMessage(new Entry(previous[0], previous[1])),
                            (MqttPublish) MqttWireMessage.createWireMessage(new Entry(header, payload)));
                }
            }
            db.put(client, key, header, payload);
        } catch (Exception e) {
            throw new MqttPersistenceException(e);
        }
    }

    @Override
    public MqttPersistable get(String key) throws MqttPersistenceException {
        try {
            byte[][] entry = db.get(client, key);
            return entry == null ? null : new Entry(entry[0], entry[1]);
        } catch (SQLException e) {
            throw new MqttPersistenceException(e);
        }
    }

    @Override
    public void remove(String key) throws MqttPersistenceException {
        try {
            db.remove(client, key);
        } catch (SQLException e) {
            throw new MqttPersistenceException(e);
        }
    }

    @Override
    public Enumeration<String> keys() throws MqttPersistenceException {
        try {
            return Collections.enumeration(db.keys(client));
        } catch (SQLException e) {
            throw new MqttPersistenceException(e);
        }
    }

    @Override
    public void clear() throws MqttPersistenceException {
        try {
            db.clear(client);
        } catch (SQLException e) {
            throw new MqttPersistenceException(e);
        }
    }

    @Override
    public boolean containsKey(String key) throws MqttPersistenceException {
        return get(key) != null;
    }

    private static byte[] slice(byte[] bytes, int offset, int length) {
        if (bytes == null) {
            return new byte[0];
        }
        return offset == 0 && length == bytes.length ? bytes : Arrays.copyOfRange(bytes, offset, offset + length);
    }
}
