package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Secret values never leave the bundle: not in its log, its files, its dead letters, its command's or API's answers. */
class SecretsIT {
    static final String MQTT_PASSWORD = "mqtt-Pa55+w&rd=%41";
    static final String WRONG_PASSWORD = "wrong-mqtt-Pa55word";
    static final String TOKEN = "partner-token-7f3e9a1c";
    static final String API_TOKEN = "dead-letter-api-token-42";
    static final List<String> SECRETS = List.of(MQTT_PASSWORD, WRONG_PASSWORD, TOKEN, API_TOKEN, S3Proxy.KEY_ID, S3Proxy.SECRET);
    static final String BAT = "foxtrackr/grp-a/V3.0/bat";

    // Through a wrong password (at DEBUG level), a broker and an S3 store that are down, a partner that quotes the
    // token in its refusals, dead letters, the dlq command and the /dlq API: the log, outbox.db, mqtt-inflight.db,
    // the dead letters' errors and every answer hold none of the secrets.
    @Test
    void should_never_show_a_secret_in_logs_files_dead_letters_or_answers() throws Exception {
        List<String> answers = new ArrayList<>();
        Path dataDir;
        WireMockServer partner = new WireMockServer(options().port(Services.freePort()).bindAddress("127.0.0.1"));
        partner.start();
        partner.stubFor(post("/ingest").willReturn(aResponse().withStatus(401)
                .withBody("{\"error\":\"token " + TOKEN + " is not valid for this fleet\"}")));
        try (Mosquitto broker = new Mosquitto().user("fanout", MQTT_PASSWORD).start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             S3Proxy s3 = new S3Proxy();
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_MQTT_USERNAME", "fanout")
                     .with("FANOUT_MQTT_PASSWORD", WRONG_PASSWORD)
                     .with("FANOUT_LOG_LEVEL", "DEBUG")
                     .with("FANOUT_HTTP_TOKEN", API_TOKEN)
                     .with("CAMEL_ROUTECONTROLLER_BACK_OFF_DELAY", "500")
                     .with("FANOUT_SINKS", "influx,acme,archive")
                     .withHttpSink("acme", "http://127.0.0.1:" + partner.port() + "/ingest")
                     .with("FANOUT_SINK_ACME_BEARER_TOKEN", TOKEN)
                     .with("FANOUT_SINK_ACME_LINGER_MS", "50")
                     .with("FANOUT_SINK_ARCHIVE_TYPE", "s3")
                     .with("FANOUT_SINK_ARCHIVE_BUCKET", "fleet-archive")
                     .with("FANOUT_SINK_ARCHIVE_ENDPOINT", s3.url())
                     .with("FANOUT_SINK_ARCHIVE_PATH_STYLE", "true")
                     .with("FANOUT_SINK_ARCHIVE_ACCESS_KEY_ID", S3Proxy.KEY_ID)
                     .with("FANOUT_SINK_ARCHIVE_SECRET_ACCESS_KEY", S3Proxy.SECRET)
                     .with("FANOUT_SINK_ARCHIVE_MAX_AGE_MS", "200")
                     .with("FANOUT_SINK_ARCHIVE_LINGER_MS", "100")
                     .with("FANOUT_SINK_ARCHIVE_RETRY_INITIAL_DELAY_MS", "200")
                     .with("FANOUT_SINK_ARCHIVE_RETRY_MAX_DELAY_MS", "500")) {
            dataDir = bundle.dataDir;
            s3.start().createBucket("fleet-archive");
            bundle.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> bundle.output().split("not authorized: the broker refused user 'fanout'").length > 2);
            bundle.stop();

            // the right password, but the broker is down at first
            broker.stop();
            bundle.with("FANOUT_MQTT_PASSWORD", MQTT_PASSWORD).with("FANOUT_LOG_LEVEL", "INFO").start();
            bundle.awaitLog("client-id=id-test-01 state=disconnected url=" + broker.url() + " error=\"Unable to connect to server");
            broker.start();
            bundle.awaitLog("client-id=id-test-01 state=subscribed");
            // the S3 store goes down and the partner refuses every message
            s3.close();
            try (Publisher publisher = new Publisher(broker)) {
                FailureIT.publishBatteries(publisher, 0, 20);
                publisher.publish(BAT, "not json");
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead'") == 20);
            bundle.awaitLog("sink=archive state=retrying");
            assertEquals(20, OutboxDb.count(bundle.outbox(), "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead'"
                    + " AND last_error = 'HTTP 401: {\"error\":\"token ****** is not valid for this fleet\"}'"),
                    "the partner's answer is kept, the token in it masked");
            s3.start().createBucket("fleet-archive");
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM outstanding WHERE sink IN ('archive', 'influx')") == 0);

            for (String[] command : List.of(new String[] {"dlq", "list"}, new String[] {"dlq", "show", "acme", "--limit", "50"},
                    new String[] {"dlq", "show", "rejected"}, new String[] {"dlq", "replay", "--sink", "nosuch"})) {
                Bundle.CliResult result = bundle.cli(command);
                answers.add(result.text());
                answers.add(result.err());
            }
            assertTrue(answers.get(2).contains("token ******"), answers.get(2));
            answers.add(bundle.http("GET", "/dlq"));
            answers.add(bundle.http("GET", "/dlq/acme?limit=50"));
            answers.add(bundle.http("GET", "/dlq/rejected"));
            answers.add(bundle.http("POST", "/dlq/replay?sink=acme", "", "Authorization", "Bearer " + API_TOKEN));
            assertEquals("200 {\"replayed\":20}", answers.get(answers.size() - 1));
            await().atMost(Duration.ofSeconds(30)).until(() -> OutboxDb.count(bundle.outbox(),
                    "SELECT count(*) FROM delivery WHERE sink = 'acme' AND state = 'dead' AND attempts = 1") == 20);
            answers.add(bundle.http("GET", "/dlq/acme?limit=50"));
        } finally {
            partner.stop();
        }

        List<Path> files;
        try (Stream<Path> walk = Files.walk(dataDir)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        assertTrue(files.stream().anyMatch(f -> f.endsWith("outbox.db")) && files.stream().anyMatch(f -> f.endsWith("mqtt-inflight.db"))
                && files.stream().filter(f -> f.getFileName().toString().startsWith("bundle-")).count() == 2, files.toString());
        // one event, one line, at DEBUG too (the AWS SDK's canonical request, InfluxDB's line protocol, stack traces)
        for (Path file : files.stream().filter(f -> f.getFileName().toString().startsWith("bundle-")).toList()) {
            for (String line : Files.readAllLines(file)) {
                assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR) \\S+ - .*"),
                        file + ": a line that is not an event of its own: " + line);
            }
        }
        for (Path file : files) {
            String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            for (String secret : SECRETS) {
                assertTrue(!bytes.contains(secret), file + " holds the secret " + secret);
            }
        }
        for (String answer : answers) {
            for (String secret : SECRETS) {
                assertTrue(!answer.contains(secret), "an answer holds the secret " + secret + ":\n" + answer);
            }
        }
    }
}
