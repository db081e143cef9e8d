package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dead-letter queues as operators use them: the jar's dlq command against a running bundle. */
class DeadLetterIT extends WithBrokerAndInflux {
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";
    WireMockServer partner;

    @BeforeEach
    void startServices() {
        partner = new WireMockServer(options().port(Services.freePort()).bindAddress("127.0.0.1"));
        partner.start();
    }

    @AfterEach
    void stopServices() {
        partner.stop();
    }

    static final String TOKEN = "replay-and-purge-token-1";

    Bundle bundle() {
        return new Bundle(broker, influx)
                .with("FANOUT_HTTP_TOKEN", TOKEN)
                .with("FANOUT_SINKS", "acme")
                .withHttpSink("acme", "http://127.0.0.1:" + partner.port() + "/ingest")
                .with("FANOUT_SINK_ACME_LINGER_MS", "50");
    }

    // Refused messages wait in the partner's queue; a replay by device sends exactly those again through the
    // sink, each once, and a delivered replay leaves the queue; a purge removes the rest.
    @Test
    void should_list_replay_by_device_and_purge_dead_letters() throws Exception {
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(422).withBody("bad unit")));
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < 10; i++) {
                publisher.publish(BAT, Messages.battery("dev-a", Messages.T0 + i, i));
                publisher.publish(BAT, Messages.battery("dev-b", Messages.T0 + i, i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'") == 20);

            Bundle.CliResult list = bundle.cli("dlq", "list");
            assertEquals(0, list.exit(), list.err());
            assertTrue(list.text().matches("(?s).*acme\\s+20\\s+\\S+\\s+HTTP 422: bad unit.*"), list.text());

            partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(200)));
            Bundle.CliResult replay = bundle.cli("dlq", "replay", "--sink", "acme", "--device", "dev-a");
            assertEquals("replayed 10", replay.text().trim(), replay.err());
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding WHERE state = 'pending'") == 0
                            && partner.findAll(postRequestedFor(urlEqualTo("/ingest"))).size() == 30);
            assertEquals(10, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"));
            for (int i = 0; i < 10; i++) {
                String payload = Messages.battery("dev-a", Messages.T0 + i, i);
                assertEquals(2, partner.findAll(postRequestedFor(urlEqualTo("/ingest")).withRequestBody(equalTo(payload))).size(),
                        "refused once, delivered once: " + payload);
            }

            // The same over HTTP: counts, then a replay of a time window of the other device.
            assertTrue(bundle.http("GET", "/dlq").matches(
                    "\\[\\{\"sink\":\"acme\",\"reason\":\"HTTP 422: bad unit\",\"count\":10,\"last\":\"[^\"]+\"}]"));
            String window = "from=" + Instant.ofEpochMilli(Messages.T0) + "&to=" + Instant.ofEpochMilli(Messages.T0 + 5);
            // replay and purge need the token in an Authorization header: not without, not from a form a browser could forge
            assertEquals("401 replay and purge need the header Authorization: Bearer <fanout.http.token>",
                    bundle.http("POST", "/dlq/replay?sink=acme", ""));
            assertTrue(bundle.http("POST", "/dlq/purge", "sink=acme&token=" + TOKEN, "Content-Type", "application/x-www-form-urlencoded",
                    "Origin", "http://attacker.example", "Cookie", "token=" + TOKEN).startsWith("401 "));
            assertTrue(bundle.http("POST", "/dlq/purge?sink=acme", "", "Authorization", "Bearer wrong-token").startsWith("401 "));
            assertEquals(10, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE state = 'dead'"), "nothing replayed or purged");
            assertEquals("200 {\"replayed\":5}", bundle.http("POST", "/dlq/replay?sink=acme&device=dev-b&" + window, "",
                    "Authorization", "Bearer " + TOKEN));
            await().atMost(Duration.ofSeconds(30)).until(() -> partner.findAll(postRequestedFor(urlEqualTo("/ingest"))).size() == 35);
            assertTrue(bundle.http("POST", "/dlq/replay?from=yesterday", "", "Authorization", "Bearer " + TOKEN)
                    .startsWith("400 from takes an ISO-8601 time"));

            // A sink the outbox does not know is an error naming the known ones, not an empty answer.
            for (String command : List.of("replay", "purge")) {
                Bundle.CliResult unknown = bundle.cli("dlq", command, "--sink", "nosuch");
                assertEquals(2, unknown.exit(), unknown.text());
                assertTrue(unknown.err().startsWith("ERROR no sink 'nosuch': the sinks are acme"), unknown.err());
            }
            Bundle.CliResult rejected = bundle.cli("dlq", "replay", "--sink", "rejected");
            assertEquals(2, rejected.exit(), rejected.text());
            assertTrue(rejected.err().startsWith("ERROR rejected input cannot be replayed"), rejected.err());
            assertEquals("404 no sink 'nosuch': the sinks are acme, and 'rejected' for the rejected input", bundle.http("GET", "/dlq/nosuch"));
            assertTrue(bundle.http("POST", "/dlq/replay?sink=nosuch", "", "Authorization", "Bearer " + TOKEN).startsWith("404 no sink 'nosuch'"));

            assertEquals("purged 5", bundle.cli("dlq", "purge", "--sink", "acme").text().trim());
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM message"));
        }
    }

    // Without a token, replay and purge over HTTP are refused; metrics need none.
    @Test
    void should_refuse_replay_without_a_configured_token() throws Exception {
        try (Bundle bundle = new Bundle(broker, influx).start()) {
            assertTrue(bundle.http("POST", "/dlq/purge", "", "Authorization", "Bearer anything").startsWith(
                    "403 replay and purge over HTTP need fanout.http.token (FANOUT_HTTP_TOKEN) to be set"));
            assertTrue(bundle.http("GET", "/observe/metrics", "").startsWith("200 "), "metrics need no token");
        }
    }

    // Rejected input can be read back byte for byte, even when it is not text.
    @Test
    void should_show_rejected_input_with_its_original_bytes() throws Exception {
        byte[] notUtf8 = {'{', '"', (byte) 0xff, (byte) 0xfe, '"', '}'};
        try (Bundle bundle = bundle().start(); Publisher publisher = new Publisher(broker)) {
            publisher.publish("foxtrackr/x/V3.0/bat", notUtf8);
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM rejected") == 1);
            Bundle.CliResult show = bundle.cli("dlq", "show", "rejected");
            assertTrue(show.text().contains("topic=foxtrackr/x/V3.0/bat"), show.text());
            assertArrayEquals(notUtf8, bundle.cli("dlq", "payload", "rejected", "1").out());
            Bundle.CliResult bad = bundle.cli("dlq", "replay", "--from", "yesterday");
            assertEquals(2, bad.exit());
            assertTrue(bad.err().contains("from takes an ISO-8601 time"), bad.err());
        }
    }

    // Dead letters and rejected input past their retention are removed, and the log says how many.
    @Test
    void should_expire_old_dead_letters_and_say_so() throws Exception {
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(400)));
        try (Bundle bundle = bundle()
                .with("FANOUT_DEAD_LETTERS_RETENTION_MS", "1500")
                .with("FANOUT_OUTBOX_MAINTENANCE_INTERVAL_MS", "300")
                .start();
             Publisher publisher = new Publisher(broker)) {
            publisher.publish(BAT, Messages.battery("dev-a", Messages.T0, 1));
            publisher.publish(BAT, "not json");
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().contains("sink=acme event=dead-letters-expired count=1")
                    && bundle.output().contains("sink=rejected event=dead-letters-expired count=1"));
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding"));
            assertEquals(0, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM rejected"));
        }
    }

    // The generic endpoint sink: "other" messages to files through Camel's file component, one per message.
    @Test
    void should_deliver_to_any_camel_endpoint() throws Exception {
        Path out = Files.createTempDirectory("endpoint-sink");
        try (Bundle bundle = bundle()
                .with("FANOUT_SINKS", "files")
                .with("FANOUT_SINK_FILES_TYPE", "endpoint")
                .with("FANOUT_SINK_FILES_URI", "file:" + out + "?fileName=${header.Idempotency-Key}.json")
                .with("FANOUT_SINK_FILES_KINDS", "other")
                .start();
             Publisher publisher = new Publisher(broker)) {
            for (int i = 0; i < 30; i++) {
                publisher.publish("foxtrackr/grp-a/V3.0/pos", Messages.position("dev-" + i, Messages.T0 + i));
                publisher.publish(BAT, Messages.battery("dev-" + i, Messages.T0 + i, i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM seen") == 60
                    && OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM outstanding") == 0);
            List<String> written;
            try (Stream<Path> files = Files.list(out)) {
                written = files.map(f -> {
                    try {
                        return Files.readString(f, StandardCharsets.UTF_8);
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                }).sorted().toList();
            }
            assertEquals(30, written.size());
            for (int i = 0; i < 30; i++) {
                assertTrue(written.contains(Messages.position("dev-" + i, Messages.T0 + i)));
            }
        }
    }
}
