package com.foxtrackr.fanout;

import java.sql.SQLException;
import java.util.Collections;
import java.util.Enumeration;

import org.eclipse.paho.client.mqttv3.MqttClientPersistence;
import org.eclipse.paho.client.mqttv3.MqttPersistable;
import org.eclipse.paho.client.mqttv3.MqttPersistenceException;

/**
 * Paho's in-flight state (a QoS 2 message between PUBREC and PUBCOMP) kept in the outbox's SQLite file.
 * Paho's own file persistence writes and fsyncs one file per message, which stalled ingestion for
 * seconds at a time; here it is one small transaction with the same durability as the outbox itself.
 */
public class MqttInflightStore implements MqttClientPersistence {
    private final Outbox outbox;
    private String client;

    public MqttInflightStore(Outbox outbox) {
        this.outbox = outbox;
    }

    record Entry(byte[] header, byte[] payload) implements MqttPersistable {
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
            outbox.inflightPut(client, key, slice(data.getHeaderBytes(), data.getHeaderOffset(), data.getHeaderLength()),
                    slice(data.getPayloadBytes(), data.getPayloadOffset(), data.getPayloadLength()));
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    @Override
    public MqttPersistable get(String key) throws MqttPersistenceException {
        try {
            byte[][] entry = outbox.inflightGet(client, key);
            return entry == null ? null : new Entry(entry[0], entry[1]);
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    @Override
    public void remove(String key) throws MqttPersistenceException {
        try {
            outbox.inflightRemove(client, key);
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    @Override
    public Enumeration<String> keys() throws MqttPersistenceException {
        try {
            return Collections.enumeration(outbox.inflightKeys(client));
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    @Override
    public void clear() throws MqttPersistenceException {
        try {
            outbox.inflightClear(client);
        } catch (SQLException e) {
            throw failure(e);
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
        return offset == 0 && length == bytes.length ? bytes : java.util.Arrays.copyOfRange(bytes, offset, offset + length);
    }

    private static MqttPersistenceException failure(SQLException e) {
        MqttPersistenceException failure = new MqttPersistenceException(e);
        return failure;
    }
}
