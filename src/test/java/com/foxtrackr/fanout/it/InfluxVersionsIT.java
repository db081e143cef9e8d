package com.foxtrackr.fanout.it;

import java.time.Duration;
import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * InfluxDB 2.x and 3.x, which cannot be installed here, through their 1.x write API: the requests the sink makes
 * against the contract their documentation gives (an HTTP server that answers only requests of that shape):
 * POST /write?db=&rp=&precision= with Authorization: Token for 2.x; the same without rp for 3.x.
 */
class InfluxVersionsIT extends WithBrokerAndInflux {
    static final String TOKEN = "influx-api-token-9c1d";

    @ParameterizedTest(name = "InfluxDB {0}.x")
    @ValueSource(strings = {"2", "3"})
    void should_write_points_with_the_token_as_the_version_expects(String version) throws Exception {
        WireMockServer influx2or3 = new WireMockServer(options().port(Services.freePort()).bindAddress("127.0.0.1"));
        influx2or3.start();
        try {
            // any other request is unmatched: WireMock answers 404, the sink retries, and the test fails
            influx2or3.stubFor(post(urlPathEqualTo("/write"))
                    .withQueryParam("db", equalTo("fleet"))
                    .withQueryParam("rp", version.equals("2") ? equalTo("autogen") : absent())
                    .withQueryParam("precision", equalTo("ms"))
                    .withHeader("Authorization", equalTo("Token " + TOKEN))
                    .willReturn(aResponse().withStatus(204)));
            try (Bundle bundle = new Bundle(broker, influx)
                    .with("FANOUT_SINK_INFLUX_URL", "http://127.0.0.1:" + influx2or3.port())
                    .with("FANOUT_SINK_INFLUX_VERSION", version)
                    .with("FANOUT_SINK_INFLUX_TOKEN", TOKEN)
                    .with("FANOUT_SINK_INFLUX_DATABASE", "fleet")
                    .start();
                 Publisher publisher = new Publisher(broker)) {
                for (int i = 0; i < 3; i++) {
                    publisher.publish("foxtrackr/grp-a/V3.0/bat", Messages.battery("dev-" + i, Messages.T0 + i, i));
                }
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE state = 'pending'") == 0
                                && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == 3);
                List<LoggedRequest> writes = influx2or3.findAll(postRequestedFor(urlPathEqualTo("/write")));
                assertEquals(List.of(), influx2or3.findAllUnmatchedRequests(), "every request as the contract says");
                long points = writes.stream().mapToLong(w -> w.getBodyAsString().lines().filter(l -> l.startsWith("battery,deviceId=dev-")).count()).sum();
                assertEquals(3, points, "every point written once");
                assertTrue(!bundle.output().contains(TOKEN), "the token is masked");
            }
        } finally {
            influx2or3.stop();
        }
    }
}
