package com.foxtrackr.fanout.it;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Reads the bundle's outbox file as an operator's tool would, while the bundle runs. */
final class OutboxDb {
    record Rejected(String topic, String reason, byte[] payload) {
    }

    private OutboxDb() {
    }

    static long count(Path file, String sql) {
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement s = db.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            // The bundle may not have created its tables yet.
            return -1;
        }
    }

    /** Holds the outbox's write lock until closed, as an operator's sqlite3 shell left in a transaction would. */
    static AutoCloseable lock(Path file) throws SQLException {
        Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
        db.createStatement().execute("BEGIN IMMEDIATE");
        return () -> {
            db.createStatement().execute("ROLLBACK");
            db.close();
        };
    }

    static List<Rejected> rejected(Path file) throws SQLException {
        List<Rejected> result = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT topic, reason, payload FROM rejected ORDER BY id")) {
            while (rs.next()) {
                result.add(new Rejected(rs.getString(1), rs.getString(2), rs.getBytes(3)));
            }
        }
        return result;
    }
}
