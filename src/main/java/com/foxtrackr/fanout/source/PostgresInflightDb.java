package com.foxtrackr.fanout.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The table mqtt_inflight of the PostgreSQL outbox, which the instances sharing a source share too: the instance
 * that takes a source over completes what the previous holder had received (a QoS 2 message is acknowledged with
 * PUBREC once it is here, and handed to the route on PUBREL). One connection, reopened after a failure.
 */
public final class PostgresInflightDb implements MqttInflightStore.Db {
    private final String url;
    private final Properties credentials = new Properties();
    private Connection connection;

    public PostgresInflightDb(String url, String user, String password) {
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
