package com.foxtrackr.fanout.source;

import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Processor;
import org.apache.camel.component.paho.PahoComponent;
import org.apache.camel.component.paho.PahoConfiguration;
import org.apache.camel.component.paho.PahoEndpoint;
import org.apache.camel.component.paho.PahoEndpointConfigurer;
import org.apache.camel.spi.PropertyConfigurer;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * camel-paho, registered as "paho", with a consumer that sets its callback before it connects.
 * camel-paho 4.17 connects first: a persistent session's queued messages and QoS 2 releases that arrive
 * before the callback is set are dropped by Paho without an acknowledgement, and sit in the broker's
 * in-flight window until the next reconnect. Setting the callback first closes that gap. It also logs
 * one line per connection change, keeps Paho's in-flight state in SQLite (see MqttInflightStore), takes TLS
 * trust and credentials from MqttConnection, fails its start when the broker refuses the subscription, keeps
 * each source's state for health and metrics (SourceState), and restarts a source whose messages could not
 * be stored, since the broker sends them again only on a new connection. It holds at most
 * MAX_UNACKNOWLEDGED messages at once, whatever the broker sends (see SourceConsumer#arrived).
 */
public class MqttSourceComponent extends PahoComponent {
    static final Logger LOG = LoggerFactory.getLogger("com.foxtrackr.fanout.MqttSource");
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

    /** Restarts sources whose messages could not be stored; its own thread, since a restart stops the consumer. */
    private ScheduledExecutorService redelivery;

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        redelivery = getCamelContext().getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "mqtt-redelivery");
    }

    @Override
    protected void doStop() throws Exception {
        getCamelContext().getExecutorServiceManager().shutdownNow(redelivery);
        super.doStop();
    }

    ScheduledExecutorService redelivery() {
        return redelivery;
    }

    /** Ours; camel-paho's consumer would install its own, which acknowledges without telling the source. */
    interface SourceCallback extends MqttCallbackExtended {
    }

    /** Keeps the source's callback: camel-paho sets its own when it subscribes, and messages may already flow. */
    static class SourceClient extends MqttClient {
        SourceClient(String url, String clientId, MqttInflightStore persistence) throws MqttException {
            super(url, clientId, persistence);
        }

        @Override
        public void setCallback(MqttCallback callback) {
            if (callback instanceof SourceCallback) {
                super.setCallback(callback);
            }
        }
    }
}
