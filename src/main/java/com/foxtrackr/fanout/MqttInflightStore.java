package com.foxtrackr.fanout;

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

/**
 * Paho's in-flight state (a QoS 2 message between PUBREC and PUBCOMP) in SQLite, data/mqtt-inflight.db.
 * Paho's own file persistence writes and fsyncs one file per message, which stalled ingestion for
 * seconds at a time; here a record is one small commit, as durable as the outbox (it survives a killed
 * process; with fanout.outbox.synchronous=FULL also a power cut). A file of its own, so that these commits
 * never wait for the outbox's.
 */
public class MqttInflightStore implements MqttClientPersistence {
    private final Db db;
    private String client;

    public MqttInflightStore(Db db) {
        this.db = db;
    }

    /** The SQLite file, shared by the sources' clients. */
    public static final class Db implements AutoCloseable {
        private final Connection connection;

        public Db(Path file, String synchronous) throws SQLException {
            connection = DriverManager.getConnection("jdbc:sqlite:" + file);
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
        }

        synchronized void put(String client, String key, byte[] header, byte[] payload) throws SQLException {
            execute("INSERT OR REPLACE INTO inflight (client, key, header, payload) VALUES (?, ?, ?, ?)", client, key, header, payload);
            connection.commit();
        }

        synchronized byte[][] get(String client, String key) throws SQLException {
            try (PreparedStatement q = connection.prepareStatement("SELECT header, payload FROM inflight WHERE client = ? AND key = ?")) {
                q.setString(1, client);
                q.setString(2, key);
                try (ResultSet rs = q.executeQuery()) {
                    return rs.next() ? new byte[][] {rs.getBytes(1), rs.getBytes(2)} : null;
                }
            }
        }

        /**
         * Not committed on its own: it goes with the next put. Should that never come (a crash), Paho finds
         * a record of a message that is complete, which the broker never releases again: it stays unused.
         */
        synchronized void remove(String client, String key) throws SQLException {
            execute("DELETE FROM inflight WHERE client = ? AND key = ?", client, key);
        }

        synchronized List<String> keys(String client) throws SQLException {
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

        synchronized void clear(String client) throws SQLException {
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
        try {
            db.put(client, key, slice(data.getHeaderBytes(), data.getHeaderOffset(), data.getHeaderLength()),
                    slice(data.getPayloadBytes(), data.getPayloadOffset(), data.getPayloadLength()));
        } catch (SQLException e) {
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
