package com.foxtrackr.fanout.source;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.paho.PahoConfiguration;
import org.apache.camel.component.paho.PahoConstants;
import org.apache.camel.component.paho.PahoConsumer;
import org.apache.camel.spi.RouteController;
import org.apache.camel.support.SynchronizationAdapter;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.slf4j.Logger;

import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * The source's consumer (see MqttSourceComponent): sets its callback before it connects, keeps Paho's in-flight
 * state in MqttInflightStore, acknowledges a message once the route has stored it, holds at most
 * MAX_UNACKNOWLEDGED, and restarts the source when messages could not be stored. Started by master:, it connects
 * for as long as it is started.
 */
class SourceConsumer extends PahoConsumer {
    private static final Logger LOG = MqttSourceComponent.LOG;

    /**
     * Messages taken but not yet stored and acknowledged. A broker is meant to hold back what is over its
     * in-flight window, but Mosquitto 2.0 sends a reconnecting persistent session's whole backlog at once,
     * whatever its max_inflight_messages: 1,000,000 queued messages would not fit in memory. Two group
     * commits' worth keeps the outbox writer busy.
     */
    static final int MAX_UNACKNOWLEDGED = 2_000;
    private final Semaphore unacknowledged = new Semaphore(MAX_UNACKNOWLEDGED);
    private SourceState state;

    SourceConsumer(MqttSourceComponent.SourceEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    protected void doStart() throws Exception {
        PahoConfiguration config = getEndpoint().getConfiguration();
        state = getEndpoint().getCamelContext().getRegistry().lookupByNameAndType("sourceStates", SourceState.All.class)
                .of(config.getClientId());
        state.url = config.getBrokerUrl();
        if (!startedByMaster()) {
            connectAndSubscribe(); // a failure fails the route's start, which the route controller retries
            return;
        }
        if (released) {
            return; // the source was given up and this consumer shut down: a late restart must not consume
        }
        // camel-master 4.17 retries a failed start 10 times, 5 s apart, and then holds the source without
        // consuming; and it goes on retrying after the source was given up, so that an instance that does not
        // hold it would consume. Started by master:, the consumer retries itself while it is started instead.
        tryToConnect();
    }

    /** Started by a master: endpoint, whose consumer has the route: this one has no route id of its own. */
    private boolean startedByMaster() {
        return getRouteId() == null;
    }

    /** Set when camel-master shuts this consumer down: it gave the source up, and makes a new consumer if it takes it again. */
    private volatile boolean released;
    private long connectDelayMs = SourceState.FIRST_REDELIVERY_DELAY_MS;
    private final Object connecting = new Object();

    private void tryToConnect() {
        synchronized (connecting) {
            if (!isRunAllowed() || released) {
                return; // stopped meanwhile: the source was given up
            }
            try {
                connectAndSubscribe();
                connectDelayMs = SourceState.FIRST_REDELIVERY_DELAY_MS;
            } catch (Exception e) {
                long delay = connectDelayMs;
                connectDelayMs = Math.min(delay * 2, getEndpoint().getConfiguration().getMaxReconnectDelay());
                LOG.info("client-id={} event=connect-retry in-ms={}", state.clientId, delay);
                ((MqttSourceComponent) getEndpoint().getComponent()).redelivery().schedule(this::tryToConnect, delay, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void connectAndSubscribe() throws Exception {
        PahoConfiguration config = getEndpoint().getConfiguration();
        MqttInflightStore.Db inflight = getEndpoint().getCamelContext().getRegistry()
                .lookupByNameAndType("mqttInflight", MqttInflightStore.Db.class);
        MqttClient client = new MqttSourceComponent.SourceClient(config.getBrokerUrl(), config.getClientId(), new MqttInflightStore(inflight, this::rescue));
        client.setManualAcks(config.isManualAcksEnabled());
        MqttConnection connection = connection();
        client.setCallback(callback(config.getClientId(), connection));
        setClient(client);
        MqttConnectOptions options = MqttSourceComponent.SourceEndpoint.connectOptions(config);
        if (connection != null) {
            connection.apply(options);
        }
        try {
            client.connect(options);
        } catch (Exception e) {
            MqttConnection.Failure failure = connection == null
                    ? new MqttConnection.Failure(false, MessageValidator.reason(e)) : connection.describe(e);
            state.connectionError = failure.reason();
            String line = "client-id={} state=disconnected url={} error=\"{}\"";
            if (failure.needsOperator()) {
                LOG.error(line, config.getClientId(), config.getBrokerUrl(), failure.reason());
            } else {
                LOG.warn(line, config.getClientId(), config.getBrokerUrl(), failure.reason());
            }
            close(client);
            throw e;
        }
        connected(false);
        try {
            // subscribes (camel-paho's own callback, which it sets too, is refused by SourceClient)
            super.doStart();
        } catch (Exception e) {
            close(client);
            if (!(e instanceof MqttException refused && refused.getReasonCode() == MqttException.REASON_CODE_SUBSCRIBE_FAILED)) {
                throw e;
            }
            // SUBACK 0x80: the broker refused the filter (an ACL, or a filter it does not allow). Connected
            // but subscribed to nothing, the source would look started and receive nothing: fail its start
            // instead, so that the route controller retries it and it shows.
            String reason = "the broker refused the subscription (SUBACK 0x80): the topic filter is not allowed for this user";
            state.connected = false;
            state.connectionError = reason;
            LOG.error("client-id={} state=subscription-refused topic={} url={} error=\"{}\"",
                    config.getClientId(), getEndpoint().getTopic(), config.getBrokerUrl(), reason);
            throw new IllegalStateException("client-id=" + config.getClientId() + " topic=" + getEndpoint().getTopic() + ": " + reason);
        }
        LOG.info("client-id={} state=subscribed topic={}", config.getClientId(), getEndpoint().getTopic());
    }

    private MqttConnection connection() {
        return getEndpoint().getCamelContext().getRegistry().lookupByNameAndType("mqttConnection", MqttConnection.class);
    }

    private void close(MqttClient client) {
        setClient(null);
        try {
            if (client.isConnected()) {
                client.disconnect();
            }
        } catch (MqttException e) {
            LOG.debug("disconnecting after a failed start: {}", e.getMessage());
        }
        try {
            client.close(true);
        } catch (MqttException e) {
            LOG.debug("closing after a failed start: {}", e.getMessage());
        }
    }

    @Override
    protected void doStop() throws Exception {
        synchronized (connecting) { // a connection being made by tryToConnect is made before it is closed here
            MqttClient client = getClient();
            state.connected = false;
            state.connectionError = "stopped";
            super.doStop();
            if (client != null) {
                if (client.isConnected()) {
                    client.disconnect();
                }
                client.close(true);
            }
        }
    }

    @Override
    protected void doShutdown() throws Exception {
        released = true;
        if (!startedByMaster()) {
            super.doShutdown();
        }
        // else: camel-master 4.17 shuts its consumer down when the source is given up, and a consumer's shutdown
        // shuts down the route's processor too, which the next consumer needs when the source is taken again:
        // what it received was refused (RejectedExecutionException) until a restart
    }

    /** Both messages through the route, without an acknowledgement: see MqttInflightStore.Rescue. */
    private void rescue(MqttPublish inFlight, MqttPublish arriving) throws Exception {
        long count = state.reusedPacketIds.incrementAndGet();
        if (count == 1 || count % 10_000 == 0) {
            LOG.warn("client-id={} event=packet-id-reused count={} note=\"the broker sent a message with the id of one still "
                    + "in flight (it has more than 65,535 queued); both are stored before either is acknowledged\"",
                    getEndpoint().getConfiguration().getClientId(), count);
        }
        store(inFlight);
        store(arriving);
    }

    private void store(MqttPublish publish) throws Exception {
        Exchange exchange = exchange(publish.getMessage(), publish.getTopicName());
        getProcessor().process(exchange);
        if (exchange.getException() != null) {
            throw exchange.getException();
        }
    }

    private Exchange exchange(MqttMessage message, String topic) {
        Exchange exchange = createExchange(true);
        exchange.getIn().setBody(message.getPayload());
        exchange.getIn().setHeader(PahoConstants.MQTT_TOPIC, topic);
        exchange.getIn().setHeader(PahoConstants.MQTT_QOS, message.getQos());
        return exchange;
    }

    /** The message is acknowledged once the route has stored it; a failed exchange is not acknowledged. */
    private void arrived(String topic, MqttMessage message) throws InterruptedException {
        // Waiting here holds Paho's callback thread, so it stops reading: the rest stays in the socket
        // and then in the broker, which keeps it until it is acknowledged.
        while (!unacknowledged.tryAcquire(1, TimeUnit.SECONDS)) {
            if (!isRunAllowed()) {
                return; // stopping: not acknowledged, so sent again on the next connection
            }
        }
        state.received.incrementAndGet();
        state.lastMessageMs = System.currentTimeMillis();
        MqttClient client = getClient();
        Exchange exchange = exchange(message, topic);
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onComplete(Exchange done) {
                try {
                    client.messageArrivedComplete(message.getId(), message.getQos());
                } catch (MqttException e) {
                    // disconnected meanwhile: the broker sends it again after the reconnect, and it is a repeat
                    LOG.debug("client-id={} ack of {} not sent: {}", state.clientId, message.getId(), e.getMessage());
                }
            }
        });
        getAsyncProcessor().process(exchange, doneSync -> {
            unacknowledged.release();
            if (exchange.getException() == null) {
                stored();
            } else {
                notStored(exchange.getException());
            }
        });
    }

    private void stored() {
        if (state.storeError != null) {
            state.storeError = null;
            state.redeliveryDelayMs = SourceState.FIRST_REDELIVERY_DELAY_MS;
            LOG.info("client-id={} state=storing", state.clientId);
        }
    }

    /**
     * The broker sends an unacknowledged message again only on a new connection (MQTT 3.1.1): restart the
     * source, with back-off while the store keeps failing, so that what could not be stored comes back.
     */
    private void notStored(Exception cause) {
        if (!isRunAllowed()) {
            return; // refused by a stopping route: not acknowledged, so sent again after the restart
        }
        state.notStored.incrementAndGet();
        String reason = MessageValidator.reason(cause);
        if (state.storeError == null) {
            LOG.error("client-id={} state=store-failing error=\"{}\" note=\"not acknowledged: the broker keeps these messages "
                    + "and sends them again after a reconnect\"", state.clientId, reason);
        }
        state.storeError = reason;
        if (state.redeliveryPending.compareAndSet(false, true)) {
            long delay = state.redeliveryDelayMs;
            state.redeliveryDelayMs = Math.min(delay * 2, getEndpoint().getConfiguration().getMaxReconnectDelay());
            ((MqttSourceComponent) getEndpoint().getComponent()).redelivery().schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
        }
    }

    private void reconnect() {
        state.redeliveryPending.set(false);
        LOG.info("client-id={} event=reconnect reason=\"to have the messages that were not stored sent again\"", state.clientId);
        try {
            if (!startedByMaster()) {
                RouteController routes = getEndpoint().getCamelContext().getRouteController();
                routes.stopRoute(getRouteId());
                routes.startRoute(getRouteId());
            } else {
                // started by a master: endpoint, whose consumer has the route: this one alone reconnects
                org.apache.camel.support.service.ServiceHelper.stopService(this);
                org.apache.camel.support.service.ServiceHelper.startService(this);
            }
        } catch (Exception e) {
            LOG.warn("client-id={} event=reconnect-failed error=\"{}\"", state.clientId, MessageValidator.reason(e));
        }
    }

    private void connected(boolean reconnect) {
        state.connected = true;
        state.connectionError = null;
        if (reconnect) {
            state.reconnects.incrementAndGet();
        }
        LOG.info("client-id={} state=connected{} url={}", state.clientId, reconnect ? " reconnect=true" : "", state.url);
    }

    private MqttCallbackExtended callback(String clientId, MqttConnection connection) {
        return new MqttSourceComponent.SourceCallback() {
            @Override
            public void connectComplete(boolean reconnect, String serverUri) {
                if (reconnect) {
                    connected(true);
                }
            }

            @Override
            public void connectionLost(Throwable cause) {
                state.connected = false;
                state.connectionError = connection == null ? MessageValidator.reason(cause) : connection.describe(cause).reason();
                LOG.warn("client-id={} state=disconnected error=\"{}\"", clientId, state.connectionError);
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
                arrived(topic, message);
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        };
    }
}
