package com.foxtrackr.fanout.outbox;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HexFormat;

import static com.foxtrackr.fanout.outbox.SqliteSchema.TIME_UNKNOWN;

/**
 * The keys of the messages seen within the repeat window (the table seen), so that a repeat is stored once. Used
 * within the outbox's transactions, on its write connection.
 */
final class RepeatKeys {
    static final HexFormat HEX = HexFormat.of();
    /**
     * The bytes of the key kept for repeat detection. Two different messages are taken for one only if they have
     * the same time to the millisecond and the same first 64 bits of their SHA-256: for a fleet of 10,000
     * trackers all sending at the same millisecond every minute, about once in 30 million weeks.
     */
    private static final int SEEN_KEY_BYTES = 8;

    private final Connection db;
    private final PreparedStatement insert;
    private final PreparedStatement seenWithoutTime;
    /** Whether keys that an earlier version kept, without the message's time, are still within the repeat window. */
    private volatile boolean keysWithoutTime;

    /** Within a transaction of the outbox. */
    RepeatKeys(Connection db) throws SQLException {
        this.db = db;
        insert = db.prepareStatement("INSERT OR IGNORE INTO seen (time_ms, key, seen_ms) VALUES (?, ?, ?)");
        seenWithoutTime = db.prepareStatement("SELECT 1 FROM seen WHERE time_ms = " + TIME_UNKNOWN + " AND key = ?");
        keysWithoutTime = anyKeyWithoutTime();
    }

    /** After maintenance, within a transaction: once the old keys have expired, a message needs one look-up again. */
    Void recheckKeysWithoutTime() throws SQLException {
        if (keysWithoutTime) {
            keysWithoutTime = anyKeyWithoutTime();
        }
        return null;
    }

    /** The stable key of a message: the same payload is the same message, however often it is delivered. */
    static String key(byte[] payload) {
        return HEX.formatHex(keyBytes(payload));
    }

    /** A digest per thread: looking one up costs more than hashing a small payload. */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    /** The key's 16 bytes: the first half of the payload's SHA-256. */
    static byte[] keyBytes(byte[] payload) {
        return Arrays.copyOf(SHA_256.get().digest(payload), 16);
    }

    /** What is kept of a key in the table seen, beside the message's time. */
    static byte[] seenKey(byte[] key) {
        return Arrays.copyOf(key, SEEN_KEY_BYTES);
    }

    /** False for a repeat: a payload seen within the repeat window, accepted or rejected, is stored once. */
    boolean mark(long timeMs, byte[] key, long now) throws SQLException {
        if (keysWithoutTime) {
            seenWithoutTime.setBytes(1, key);
            try (ResultSet rs = seenWithoutTime.executeQuery()) {
                if (rs.next()) {
                    return false;
                }
            }
        }
        insert.setLong(1, timeMs);
        insert.setBytes(2, seenKey(key));
        insert.setLong(3, now);
        return insert.executeUpdate() > 0;
    }

    private boolean anyKeyWithoutTime() throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM seen WHERE time_ms = " + TIME_UNKNOWN + ")")) {
            return rs.next() && rs.getBoolean(1);
        }
    }
}
