package com.foxtrackr.fanout.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The README's worked example, as written: one partner's own payload, header and filter in a YAML route of the user's. */
class PartnerPayloadIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    static final String TEMP = "foxtrackr/grp-a/V3.0/temp";
    WireMockServer partner;

    @BeforeEach
    void startPartner() {
        partner = new WireMockServer(options().port(Services.freePort()).bindAddress("127.0.0.1"));
        partner.start();
        partner.stubFor(post("/v2/battery-alerts").willReturn(aResponse().withStatus(202)));
    }

    @AfterEach
    void stopPartner() {
        partner.stop();
    }

    // Four batteries (5, 15, 20 and 87%) and a temperature: acme gets the two below 20% in its own shape, with
    // X-Device, once each; the rest count as delivered to it; InfluxDB gets every point.
    @Test
    void should_send_the_partner_its_own_payload_for_the_messages_it_wants() throws Exception {
        Path home = RouteEditIT.copyOfProject();
        String readme = Files.readString(Bundle.HOME.resolve("README.md"));
        Files.writeString(home.resolve("application.properties"), "\n" + example(readme, "application.properties"), StandardOpenOption.APPEND);
        Files.writeString(home.resolve("routes/acme-payload.yaml"), example(readme, "routes/acme-payload.yaml"));
        Bundle configured = new Bundle(home, broker, influx)
                .with("FANOUT_SINK_ACME_URL", "http://127.0.0.1:" + partner.port() + "/v2/battery-alerts")
                .with("FANOUT_SINK_ACME_LINGER_MS", "50");
        try (Bundle bundle = configured.start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, Messages.battery("dev-a", Messages.T0, 5));
            publisher.publish(BAT, Messages.battery("dev-b", Messages.T0 + 1, 15));
            publisher.publish(BAT, Messages.battery("dev-c", Messages.T0 + 2, 20));
            publisher.publish(BAT, Messages.battery("dev-d", Messages.T0 + 3, 87));
            publisher.publish(TEMP, Messages.temperature("dev-a", Messages.T0 + 4, 21.5));
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == 4
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            List<LoggedRequest> calls = partner.findAll(postRequestedFor(urlEqualTo("/v2/battery-alerts"))).stream()
                    .sorted(Comparator.comparing(r -> r.getHeader("X-Device"))).toList();
            assertEquals(2, calls.size(), "only the batteries below 20%");
            ObjectMapper json = new ObjectMapper();
            String[] devices = {"dev-a", "dev-b"};
            int[] levels = {5, 15};
            for (int i = 0; i < 2; i++) {
                LoggedRequest call = calls.get(i);
                assertEquals(devices[i], call.getHeader("X-Device"));
                JsonNode body = json.readTree(call.getBodyAsString());
                assertEquals(json.readTree("{\"device\":\"" + devices[i] + "\",\"level\":" + levels[i] + ",\"at\":" + (Messages.T0 + i) + "}"), body);
                assertNotNull(call.getHeader("Idempotency-Key"));
                assertNull(call.getHeader("FanoutTopic"), "the topic stays in the bundle");
            }
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"));
        }
    }

    /** The code block that follows the README's marker for this file. */
    static String example(String readme, String file) {
        Matcher block = Pattern.compile("<!-- worked example: " + Pattern.quote(file) + " -->\\s*```[a-z]+\\n(.*?)```", Pattern.DOTALL)
                .matcher(readme);
        if (!block.find()) {
            throw new AssertionError("the README has no worked example for " + file);
        }
        return block.group(1);
    }
}
