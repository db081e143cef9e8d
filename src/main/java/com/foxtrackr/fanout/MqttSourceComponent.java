package com.foxtrackr.fanout;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.paho.PahoComponent;
import org.apache.camel.component.paho.PahoConfiguration;
import org.apache.camel.component.paho.PahoConstants;
import org.apache.camel.component.paho.PahoConsumer;
import org.apache.camel.component.paho.PahoEndpoint;
import org.apache.camel.component.paho.PahoEndpointConfigurer;
import org.apache.camel.spi.PropertyConfigurer;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * camel-paho, registered as "paho", with a consumer that sets its callback before it connects.
 * camel-paho 4.17 connects first: a persistent session's queued messages and QoS 2 releases that arrive
 * before the callback is set are dropped by Paho without an acknowledgement, and sit in the broker's
 * in-flight window until the next reconnect. Setting the callback first closes that gap. It also logs
 * one line per connection change, keeps Paho's in-flight state in SQLite (see MqttInflightStore), takes TLS
 * trust and credentials from MqttConnection, and fails its start when the broker refuses the subscription.
 */
public class MqttSourceComponent extends PahoComponent {
    private static final Logger LOG = LoggerFactory.getLogger("MqttSource");
    private static final PropertyConfigurer ENDPOINT_CONFIGURER = new PahoEndpointConfigurer();

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        SourceEndpoint endpoint = new SourceEndpoint(uri, remaining, this, getConfiguration().copy());
        setProperties(endpoint, parameters);
        return endpoint;
    }

    /** Camel finds configurers by class name; the endpoint's options are camel-paho's. */
    @Override
    public PropertyConfigurer getEndpointPropertyConfigurer() {
        return ENDPOINT_CONFIGURER;
    }

    static class SourceEndpoint extends PahoEndpoint {
        SourceEndpoint(String uri, String topic, PahoComponent component, PahoConfiguration configuration) {
            super(uri, topic, component, configuration);
        }

        @Override
        public Consumer createConsumer(Processor processor) throws Exception {
            SourceConsumer consumer = new SourceConsumer(this, processor);
            configureConsumer(consumer);
            return consumer;
        }

        static MqttConnectOptions connectOptions(PahoConfiguration config) {
            return createMqttConnectOptions(config);
        }
    }

    static class SourceConsumer extends PahoConsumer {
        private final AtomicLong reusedIds = new AtomicLong();

        SourceConsumer(SourceEndpoint endpoint, Processor processor) {
            super(endpoint, processor);
        }

        @Override
        protected void doStart() throws Exception {
            PahoConfiguration config = getEndpoint().getConfiguration();
            MqttInflightStore.Db inflight = getEndpoint().getCamelContext().getRegistry()
                    .lookupByNameAndType("mqttInflight", MqttInflightStore.Db.class);
            MqttClient client = new MqttClient(config.getBrokerUrl(), config.getClientId(), new MqttInflightStore(inflight, this::rescue));
            client.setManualAcks(config.isManualAcksEnabled());
            MqttConnection connection = connection();
            MqttCallbackExtended callback = callback(config.getClientId(), connection);
            client.setCallback(callback);
            setClient(client);
            MqttConnectOptions options = SourceEndpoint.connectOptions(config);
            if (connection != null) {
                connection.apply(options);
            }
            try {
                client.connect(options);
            } catch (Exception e) {
                MqttConnection.Failure failure = connection == null
                        ? new MqttConnection.Failure(false, MessageValidator.reason(e)) : connection.describe(e);
                String line = "client-id={} state=disconnected url={} error=\"{}\"";
                if (failure.needsOperator()) {
                    LOG.error(line, config.getClientId(), config.getBrokerUrl(), failure.reason());
                } else {
                    LOG.warn(line, config.getClientId(), config.getBrokerUrl(), failure.reason());
                }
                close(client);
                throw e;
            }
            LOG.info("client-id={} state=connected url={}", config.getClientId(), config.getBrokerUrl());
            try {
                // Subscribes, and swaps in camel-paho's own callback, which does the same; ours goes back on.
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
                LOG.error("client-id={} state=subscription-refused topic={} url={} error=\"{}\"",
                        config.getClientId(), getEndpoint().getTopic(), config.getBrokerUrl(), reason);
                throw new IllegalStateException("client-id=" + config.getClientId() + " topic=" + getEndpoint().getTopic() + ": " + reason);
            }
            client.setCallback(callback);
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
            MqttClient client = getClient();
            super.doStop();
            if (client != null) {
                if (client.isConnected()) {
                    client.disconnect();
                }
                client.close(true);
            }
        }

        /** Both messages through the route, without an acknowledgement: see MqttInflightStore.Rescue. */
        private void rescue(MqttPublish inFlight, MqttPublish arriving) throws Exception {
            long count = reusedIds.incrementAndGet();
            if (count == 1 || count % 10_000 == 0) {
                LOG.warn("client-id={} event=packet-id-reused count={} note=\"the broker sent a message with the id of one still "
                        + "in flight (it has more than 65,535 queued); both are stored before either is acknowledged\"",
                        getEndpoint().getConfiguration().getClientId(), count);
            }
            store(inFlight);
            store(arriving);
        }

        private void store(MqttPublish publish) throws Exception {
            Exchange exchange = getEndpoint().createExchange();
            exchange.getIn().setBody(publish.getMessage().getPayload());
            exchange.getIn().setHeader(PahoConstants.MQTT_TOPIC, publish.getTopicName());
            exchange.getIn().setHeader(PahoConstants.MQTT_QOS, publish.getMessage().getQos());
            getProcessor().process(exchange);
            if (exchange.getException() != null) {
                throw exchange.getException();
            }
        }

        private MqttCallbackExtended callback(String clientId, MqttConnection connection) {
            return new MqttCallbackExtended() {
                @Override
                public void connectComplete(boolean reconnect, String serverUri) {
                    if (reconnect) {
                        LOG.info("client-id={} state=connected reconnect=true url={}", clientId, serverUri);
                    }
                }

                @Override
                public void connectionLost(Throwable cause) {
                    LOG.warn("client-id={} state=disconnected error=\"{}\"", clientId,
                            connection == null ? MessageValidator.reason(cause) : connection.describe(cause).reason());
                }

                @Override
                public void messageArrived(String topic, MqttMessage message) {
                    Exchange exchange = createExchange(message, topic);
                    getAsyncProcessor().process(exchange, defaultConsumerCallback(exchange, true));
                }

                @Override
                public void deliveryComplete(IMqttDeliveryToken token) {
                }
            };
        }
    }
}
