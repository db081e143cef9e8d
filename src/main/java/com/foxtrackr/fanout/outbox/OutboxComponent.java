package com.foxtrackr.fanout.outbox;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

/**
 * The outbox as a Camel component: {@code from: outbox:<sink>} claims that sink's due deliveries from the durable
 * outbox and hands them to the route; what the route makes of each exchange is settled in the outbox. The
 * endpoint's options declare the sink: what it takes, one exchange per message or per batch, how it retries.
 */
public class OutboxComponent extends DefaultComponent {
    private final Outbox store;

    public OutboxComponent(Outbox store) {
        this.store = store;
    }

    Outbox store() {
        return store;
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        OutboxEndpoint endpoint = new OutboxEndpoint(uri, this, remaining);
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
