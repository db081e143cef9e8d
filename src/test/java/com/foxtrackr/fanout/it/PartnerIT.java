package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
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
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The partner HTTP sink against a real HTTP server (WireMock): failure paths first, with exact counts. */
class PartnerIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    static final String TOKEN = "s3cr3t-partner-token";
    WireMockServer partner;
    int partnerPort;

    @BeforeEach
    void startServices() {
        partnerPort = Services.freePort();
        partner = new WireMockServer(options().port(partnerPort).bindAddress("127.0.0.1").containerThreads(20));
    }

    @AfterEach
    void stopServices() {
        partner.stop();
    }

    Bundle bundle() {
        return new Bundle(broker, influx)
                .with("FANOUT_SINKS", "influx,acme")
                .withHttpSink("acme", "http://127.0.0.1:" + partnerPort + "/ingest")
                .with("FANOUT_SINK_ACME_BEARER_TOKEN", TOKEN)
                .with("FANOUT_SINK_ACME_HEADERS", "X-Fleet: north; X-Api-Version: 3")
                .with("FANOUT_SINK_ACME_LINGER_MS", "50")
                .with("FANOUT_SINK_ACME_RETRY_INITIAL_DELAY_MS", "100")
                .with("FANOUT_SINK_ACME_RETRY_MAX_DELAY_MS", "500")
                .with("FANOUT_SINK_ACME_CIRCUIT_OPEN_MS", "1000");
    }

    List<LoggedRequest> requests() {
        return partner.findAll(postRequestedFor(urlEqualTo("/ingest")));
    }

    // 500, 500, 500, then 200: exactly four attempts with the same idempotency key, and one delivery.
    @Test
    void should_retry_a_server_error_until_the_partner_accepts() throws Exception {
        partner.start();
        String scenario = "flaky";
        partner.stubFor(post("/ingest").inScenario(scenario).whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(500)).willSetStateTo("1"));
        partner.stubFor(post("/ingest").inScenario(scenario).whenScenarioStateIs("1")
                .willReturn(aResponse().withStatus(500)).willSetStateTo("2"));
        partner.stubFor(post("/ingest").inScenario(scenario).whenScenarioStateIs("2")
                .willReturn(aResponse().withStatus(503)).willSetStateTo("3"));
        partner.stubFor(post("/ingest").inScenario(scenario).whenScenarioStateIs("3")
                .willReturn(aResponse().withStatus(200)).willSetStateTo("done"));
        String payload = Messages.battery("dev-1", Messages.T0, 42);
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, payload);
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0 && requests().size() >= 4);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> requests().size() == 4);
            List<LoggedRequest> calls = requests();
            assertEquals(1, new HashSet<>(calls.stream().map(r -> r.getHeader("Idempotency-Key")).toList()).size());
            LoggedRequest last = calls.get(3);
            assertArrayEquals(payload.getBytes(StandardCharsets.UTF_8), last.getBody(), "the raw payload, not re-serialised");
            assertEquals("Bearer " + TOKEN, last.getHeader("Authorization"));
            assertEquals("north", last.getHeader("X-Fleet"));
            assertEquals("3", last.getHeader("X-Api-Version"));
            assertTrue(last.getHeader("Content-Type").startsWith("application/json"));
            assertFalse(bundle.output().contains(TOKEN), "the token never reaches the log");
        }
    }

    // A 400 is final: one attempt, and the message waits in the partner's dead-letter queue with the reason.
    @Test
    void should_dead_letter_a_refused_message_after_one_attempt() throws Exception {
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(400).withBody("unknown device")));
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, Messages.battery("dev-1", Messages.T0, 42));
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead' AND attempts = 1"
                            + " AND last_error = 'HTTP 400: unknown device'") == 1);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> requests().size() == 1);
            assertEquals(1, influx.count("foxtrackr", "battery", "level"), "InfluxDB got it all the same");
        }
    }

    // The partner is down for the whole publishing: InfluxDB gets everything meanwhile; once the partner is
    // up, each message reaches it exactly once.
    @Test
    void should_hold_deliveries_for_a_partner_that_is_down_and_deliver_each_once_when_it_is_back() throws Exception {
        int n = 200;
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            FailureIT.publishBatteries(publisher, 0, n);
            await().atMost(Duration.ofSeconds(30)).until(() -> influx.count("foxtrackr", "battery", "level") == n);
            assertEquals(n, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'acme' AND state = 'pending'"));
            await().atMost(Duration.ofSeconds(10)).until(() -> bundle.output().contains("sink=acme circuit=open"));

            partner.start();
            partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(204)));
            await().atMost(Duration.ofSeconds(60)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            List<LoggedRequest> calls = requests();
            assertEquals(n, calls.size(), "no message sent twice once the partner is back");
            assertEquals(n, new HashSet<>(calls.stream().map(r -> r.getHeader("Idempotency-Key")).toList()).size());
            await().atMost(Duration.ofSeconds(5)).until(() -> bundle.output().contains("sink=acme circuit=closed"));
        }
    }

    // A partner that does not answer within response-timeout-ms: the call is given up and counts as a failed
    // attempt (here the only one allowed), not a wait without end.
    @Test
    void should_give_up_a_call_that_gets_no_answer_within_the_response_timeout() throws Exception {
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(200).withFixedDelay(5000)));
        try (Bundle bundle = bundle()
                     .with("FANOUT_SINK_ACME_RESPONSE_TIMEOUT_MS", "300")
                     .with("FANOUT_SINK_ACME_RETRY_MAX_ATTEMPTS", "1")
                     .start();
             Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, Messages.battery("dev-1", Messages.T0, 42));
            await().atMost(Duration.ofSeconds(4)).until(() -> OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead' AND attempts = 1"
                            + " AND last_error LIKE 'gave up after 1 attempts: %timed out%'") == 1);
        }
    }

    // A partner that takes 2 s per answer delays only itself: InfluxDB and ingestion keep up.
    @Test
    void should_not_let_a_slow_partner_hold_back_influxdb_or_ingestion() throws Exception {
        int n = 400;
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(200).withFixedDelay(2000)));
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            FailureIT.publishBatteries(publisher, 0, n);
            await().atMost(Duration.ofSeconds(20)).until(() -> influx.count("foxtrackr", "battery", "level") == n
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == n);
            long partnerDone = n - OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'acme'");
            assertTrue(partnerDone < n / 2, "the partner is the slow one: " + partnerDone + " of " + n);
        }
    }

    // A partner far away answers slowly: the sink keeps `concurrency` calls in flight on as many kept-alive
    // connections, beyond the HTTP client's default of 20 connections per host.
    @Test
    void should_keep_as_many_calls_in_flight_as_its_concurrency_for_a_slow_partner() throws Exception {
        int n = 640;
        int concurrency = 32;
        try (CountingPartner slowPartner = new CountingPartner();
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "slow")
                     .withHttpSink("slow", slowPartner.url())
                     .with("FANOUT_SINK_SLOW_CONCURRENCY", String.valueOf(concurrency))
                     .start();
             Publisher publisher = new Publisher(broker)) {
            slowPartner.answerDelayMs = 300;
            FailureIT.publishBatteries(publisher, 0, n);
            await().atMost(Duration.ofSeconds(60)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == n
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            assertEquals(n, slowPartner.requests.get(), "each message sent once");
            assertEquals(n, slowPartner.keysByPayload.size());
            assertEquals(concurrency, slowPartner.peakInFlight.get(), "calls in flight at once");
            assertTrue(slowPartner.connections.get() <= concurrency, "connections: " + slowPartner.connections);
        }
    }

    // 429 with Retry-After: 2 is retried, and not before two seconds have passed.
    @Test
    void should_honour_retry_after() throws Exception {
        partner.start();
        partner.stubFor(post("/ingest").inScenario("busy").whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "2")).willSetStateTo("ok"));
        partner.stubFor(post("/ingest").inScenario("busy").whenScenarioStateIs("ok").willReturn(aResponse().withStatus(200)));
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, Messages.battery("dev-1", Messages.T0, 42));
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            List<LoggedRequest> calls = requests();
            assertEquals(2, calls.size());
            long waited = calls.get(1).getLoggedDate().getTime() - calls.get(0).getLoggedDate().getTime();
            assertTrue(waited >= 1900, "waited " + waited + " ms");
        }
    }

    // A partner that keeps failing is not hammered: the circuit opens and calls stop, deliveries stay pending.
    @Test
    void should_open_the_circuit_for_a_failing_partner() throws Exception {
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(500)));
        try (Bundle bundle = bundle().with("FANOUT_SINK_ACME_CIRCUIT_OPEN_MS", "600000").with("FANOUT_SINK_ACME_CIRCUIT_MINIMUM_CALLS", "10").start();
             Publisher publisher = new Publisher(broker)) {
            FailureIT.publishBatteries(publisher, 0, 100);
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("sink=acme circuit=open"));
            // calls already in flight when it opened may still land: the count once two looks 0.5 s apart agree
            int[] seen = {-1};
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
                int now = requests().size();
                boolean settled = now == seen[0];
                seen[0] = now;
                return settled;
            });
            int atOpen = seen[0];
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> requests().size() == atOpen);
            assertTrue(atOpen <= 10 + 4, "calls before the circuit opened: " + atOpen);
            assertEquals(100, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'acme' AND state = 'pending'"));
        }
    }

    // A partner failing 30% of its calls at random (503s and closed connections) keeps receiving: the circuit,
    // which looks at the last 100 calls, never opens on that noise; each message is taken once, nothing is
    // dead-lettered.
    @Test
    void should_keep_delivering_to_a_partner_that_fails_a_third_of_its_calls_at_random() throws Exception {
        try (CountingPartner flapping = new CountingPartner();
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "influx,acme")
                     .withHttpSink("acme", flapping.url())
                     .with("FANOUT_SINK_ACME_RETRY_INITIAL_DELAY_MS", "100")
                     .with("FANOUT_SINK_ACME_RETRY_MAX_DELAY_MS", "500")
                     .with("FANOUT_SINK_ACME_LINGER_MS", "50")
                     .start();
             Publisher publisher = new Publisher(broker)) {
            flapping.failureRate = 0.3;
            FailureIT.publishBatteries(publisher, 0, 2000);
            await().atMost(Duration.ofSeconds(120)).until(() -> flapping.keysByPayload.size() == 2000);
            assertEquals(2000, flapping.requests.get(), "each message taken once");
            assertTrue(flapping.failed.get() > 400, "the partner did fail about 30% of the calls: " + flapping.failed.get());
            assertTrue(!bundle.output().contains("circuit=open"), bundle.output());
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"));
        }
    }

    // A call that hangs holds back one of the sink's threads, not the sink: while the partner holds one call
    // without an answer, every other message is delivered; then the held one too, each once.
    @Test
    void should_deliver_the_others_while_one_call_hangs() throws Exception {
        try (CountingPartner partner = new CountingPartner();
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_SINKS", "influx,acme")
                     .withHttpSink("acme", partner.url())
                     .with("FANOUT_SINK_ACME_BATCH_SIZE", "20")
                     .with("FANOUT_SINK_ACME_RESPONSE_TIMEOUT_MS", "120000")
                     .start();
             Publisher publisher = new Publisher(broker)) {
            partner.holdOn = "\"deviceId\":\"dev-0\"";
            FailureIT.publishBatteries(publisher, 0, 500);
            await().atMost(Duration.ofSeconds(60)).until(() -> partner.requests.get() == 500);
            assertEquals(1, partner.held(), "the call of dev-0's first message still waits for its answer");
            partner.release();
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE sink = 'acme'") == 0);
            assertEquals(500, partner.requests.get(), "each message once");
        }
    }
}
