package com.foxtrackr.fanout.source;

import java.sql.SQLException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

import org.eclipse.paho.client.mqttv3.MqttClientPersistence;
import org.eclipse.paho.client.mqttv3.MqttPersistable;
import org.eclipse.paho.client.mqttv3.MqttPersistenceException;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttWireMessage;

/**
 * Paho's in-flight state (a QoS 2 message between PUBREC and PUBCOMP) in SQLite, data/mqtt-inflight.db
 * (SqliteInflightDb), or with a shared outbox in its PostgreSQL (PostgresInflightDb), where whichever instance holds
 * the source finds it.
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
