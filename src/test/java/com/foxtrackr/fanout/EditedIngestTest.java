package com.foxtrackr.fanout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An operator's edit of routes/ingest.yaml: one more `when` in the content-based routing, on a payload field, giving
 * the kind "alarm" that a sink of its own takes. Every test of RoutesTest runs again on the edited route.
 */
class EditedIngestTest extends RoutesTest {
    /** The shipped route's choice with one more `when` first, as an operator would write it. */
    static final String WHEN = String.join("\n",
            "                  when:",
            "                    # added by the operator: an alarm, whatever its messageType, goes to the pager",
            "                    - jq: \".alarm == true\"",
            "                      steps:",
            "                        - setHeader:",
            "                            name: FanoutKind",
            "                            constant: alarm",
            "");

    @Override
    void editRoutes(Path userRoutes, Properties properties) {
        try {
            String shipped = Files.readString(Path.of("routes/ingest.yaml"));
            String edited = shipped.replace("                  when:\n", WHEN);
            if (edited.equals(shipped)) {
                throw new IllegalStateException("the ingest route has no when to add to");
            }
            Files.writeString(userRoutes.resolve("ingest.yaml"), edited);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        properties.put("camel.main.routes-exclude-pattern", "file:routes/ingest.yaml");
        properties.put("fanout.sinks", properties.getProperty("fanout.sinks") + ",pager");
        properties.put("fanout.sink.pager.type", "endpoint");
        properties.put("fanout.sink.pager.uri", "mock:pager");
        properties.put("fanout.sink.pager.kinds", "alarm");
        properties.put("fanout.sink.pager.linger-ms", "20");
    }

    // A battery message with "alarm": true goes to the pager, as kind alarm; the others do not.
    @Test
    void should_route_on_a_payload_field_added_by_the_operator() throws Exception {
        MockEndpoint pager = getMockEndpoint("mock:pager");
        pager.expectedMessageCount(1);
        pager.expectedHeaderReceived("FanoutKind", "alarm");
        publish(BAT, battery("dev-1", 1_764_000_000_000L, 40));
        publish(BAT, "{\"messageType\":1,\"deviceId\":\"dev-2\",\"version\":3,\"timeMs\":1764000000001,\"alarm\":true,\"battery\":{\"level\":3}}");
        pager.assertIsSatisfied();
        assertEquals("dev-2", new String(pager.getExchanges().get(0).getMessage().getBody(byte[].class)).replaceAll(".*\"deviceId\":\"([^\"]+)\".*", "$1"));
    }
}
