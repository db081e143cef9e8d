package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The durable outbox in PostgreSQL, which several instances share: each accepted message once, with a delivery row
 * for every sink that takes it. Ingest stores a group of messages in one transaction of a few statements;
 * sinks claim their due rows with row locks that skip what another instance is taking ({@link PostgresClaims}) and
 * settle them as in SQLite ({@link Settlement}); a message goes once its last delivery row has gone.
 */
public class PostgresOutbox extends StoreOutbox {
    static final String KNOWN_SINKS = "SELECT name FROM sink UNION SELECT DISTINCT sink FROM delivery ORDER BY 1";

    private final PostgresDb postgres;

    /** Connects (user and password apart from the URL), and makes or migrates the tables. */
    public PostgresOutbox(String url, String user, String password, int connections, long repeatWindowMs,
            long deadLetterRetentionMs) throws SQLException {
        db = postgres = new PostgresDb(url, user, password, connections);
        try {
            PostgresSchema.create(db);
        } catch (SQLException | RuntimeException e) {
            db.close();
            throw e;
        }
        claims = new PostgresClaims(db, this::sink);
        settlement = new Settlement(db, null, "", true, this::sink);
        retention = new Retention(db, null, "", repeatWindowMs, deadLetterRetentionMs);
    }

    /** A sink new to this outbox takes the messages stored from now on. */
    @Override
    public void addSink(Sink sink) {
        sinks.check(sink);
        try {
            db.write(c -> {
                try (PreparedStatement q = c.prepareStatement("INSERT INTO sink (name, added_ms) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                    q.setString(1, sink.name());
                    q.setLong(2, System.currentTimeMillis());
                    return q.executeUpdate();
                }
            });
        } catch (SQLException e) {
            throw new IllegalStateException("the outbox cannot record sink " + sink.name() + ": " + e.getMessage(), e);
        }
        added(sink);
    }

    /** A sink no longer configured keeps its rows. */
    @Override
    Map<String, Long> keepWorkOfOtherSinks() throws SQLException {
        return db.read(c -> {
            Map<String, Long> pending = new TreeMap<>();
            try (PreparedStatement q = c.prepareStatement(
                    "SELECT sink, count(*) FROM delivery WHERE state = 'pending' AND NOT sink = ANY (?) GROUP BY sink")) {
                q.setArray(1, c.createArrayOf("text", sinks.all().keySet().toArray()));
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        pending.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return pending;
        });
    }

    /**
     * Ingest: the group's repeat keys, refused payloads, messages and their delivery rows, in one transaction of four
     * statements, each sent once for the whole group; a repeat is stored once.
     */
    @Override
    Stored store(List<Incoming> batch) throws SQLException {
        return db.write(c -> {
            long now = System.currentTimeMillis();
            List<byte[]> keys = new ArrayList<>(batch.size());
            int[] marked;
            try (PreparedStatement seen = c.prepareStatement("INSERT INTO seen (time_ms, key, seen_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
                for (Incoming message : batch) {
                    byte[] key = RepeatKeys.keyBytes(message.payload());
                    keys.add(key);
                    seen.setLong(1, message.timeMs());
                    seen.setBytes(2, RepeatKeys.seenKey(key));
                    seen.setLong(3, now);
                    seen.addBatch();
                }
                marked = seen.executeBatch();
            }
            List<Incoming> accepted = new ArrayList<>();
            List<String> acceptedKeys = new ArrayList<>();
            int rejected = 0;
            try (PreparedStatement insertRejected = c.prepareStatement(
                    "INSERT INTO rejected (topic, reason, received_ms, payload) VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < batch.size(); i++) {
                    Incoming message = batch.get(i);
                    if (marked[i] == 0) {
                        continue;
                    }
                    if (message.rejectReason() != null) {
                        insertRejected.setString(1, message.topic());
                        insertRejected.setString(2, message.rejectReason());
                        insertRejected.setLong(3, now);
                        insertRejected.setBytes(4, message.payload());
                        insertRejected.addBatch();
                        rejected++;
                    } else {
                        accepted.add(message);
                        acceptedKeys.add(RepeatKeys.HEX.formatHex(keys.get(i)));
                    }
                }
                if (rejected > 0) {
                    insertRejected.executeBatch();
                }
            }
            return new Stored(storeAccepted(c, accepted, acceptedKeys, now), rejected);
        });
    }

    /** Within ingest's transaction: the messages that some sink takes, and a delivery row for each such sink. */
    private int storeAccepted(Connection c, List<Incoming> accepted, List<String> keys, long now) throws SQLException {
        List<List<String>> takenBy = new ArrayList<>();
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO message (key, topic, kind, device_id, time_ms, received_ms, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                new String[] {"id"})) {
            for (int i = 0; i < accepted.size(); i++) {
                Incoming message = accepted.get(i);
                List<String> accepting = sinks.all().values().stream()
                        .filter(s -> s.accepts(message.kind(), message.messageType(), message.topic())).map(Sink::name).toList();
                if (accepting.isEmpty()) {
                    continue;
                }
                takenBy.add(accepting);
                insert.setString(1, keys.get(i));
                insert.setString(2, message.topic());
                insert.setString(3, message.kind());
                insert.setString(4, message.deviceId());
                insert.setLong(5, message.timeMs());
                insert.setLong(6, now);
                insert.setBytes(7, message.payload());
                insert.addBatch();
            }
            if (takenBy.isEmpty()) {
                return 0;
            }
            insert.executeBatch();
            try (ResultSet ids = insert.getGeneratedKeys();
                 PreparedStatement deliveries = c.prepareStatement("INSERT INTO delivery (message_id, sink, next_attempt_ms) VALUES (?, ?, ?)")) {
                for (List<String> accepting : takenBy) {
                    ids.next();
                    long id = ids.getLong(1);
                    for (String sink : accepting) {
                        deliveries.setLong(1, id);
                        deliveries.setString(2, sink);
                        deliveries.setLong(3, now);
                        deliveries.addBatch();
                    }
                }
                deliveries.executeBatch();
            }
        }
        return takenBy.size();
    }

    /** Counts per sink and state from the delivery rows, on a pooled connection. */
    @Override
    public Backlog backlog() {
        return new Backlog(new Backlog.Counter() {
            @Override
            public Backlog.Counts count() throws SQLException {
                return db.read(PostgresOutbox::count);
            }

            @Override
            public void close() {
            }
        });
    }

    private static Backlog.Counts count(Connection c) throws SQLException {
        Map<String, Backlog.Sink> sinks = new TreeMap<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("""
                     SELECT d.sink, count(*) FILTER (WHERE d.state = 'pending'),
                       (SELECT m.received_ms FROM message m WHERE m.id = min(d.message_id) FILTER (WHERE d.state = 'pending')),
                       count(*) FILTER (WHERE d.state = 'dead')
                     FROM delivery d GROUP BY d.sink""")) {
            while (rs.next()) {
                sinks.put(rs.getString(1), new Backlog.Sink(rs.getLong(2), rs.getLong(3), rs.getLong(4)));
            }
        }
        long rejected;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM rejected")) {
            rs.next();
            rejected = rs.getLong(1);
        }
        return new Backlog.Counts(sinks, rejected);
    }

    @Override
    public DeadLetters deadLetters() {
        return new DeadLetters(db, false, KNOWN_SINKS, "");
    }

    @Override
    public void close() {
        postgres.close();
    }
}
