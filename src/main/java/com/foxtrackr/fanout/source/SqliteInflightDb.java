package com.foxtrackr.fanout.source;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import com.foxtrackr.fanout.outbox.SqliteSchema;

/** The SQLite file, shared by the sources' clients. */
public final class SqliteInflightDb implements MqttInflightStore.Db {
    private final Connection connection;

    public SqliteInflightDb(Path file, String synchronous) throws SQLException {
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
