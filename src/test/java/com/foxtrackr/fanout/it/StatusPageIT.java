package com.foxtrackr.fanout.it;

import java.time.Duration;
import java.util.List;
import java.util.logging.Level;

import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.logging.LogEntry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The status page as a person sees it, in a real headless Chromium: live figures, a sink that is down, no secret, no console error. */
class StatusPageIT {
    static final String MQTT_PASSWORD = "status-Pa55+w&rd=%41";
    static final String INFLUX_PASSWORD = "influx-Pa55word-status";

    // The page loads from / with the mode; its figures follow the messages to the exact count without a reload;
    // InfluxDB stopped shows as retrying with the reason and the exact backlog, and up again once it is back;
    // neither password appears in the page or its JSON; the console has no error.
    @Test
    void should_show_live_figures_and_a_sink_outage_in_a_real_browser() throws Exception {
        try (Mosquitto broker = new Mosquitto().user("fanout", MQTT_PASSWORD).start();
             Influx influx = new Influx().start().createDatabase("foxtrackr");
             Bundle bundle = new Bundle(broker, influx)
                     .with("FANOUT_MQTT_USERNAME", "fanout").with("FANOUT_MQTT_PASSWORD", MQTT_PASSWORD)
                     .with("FANOUT_SINK_INFLUX_USERNAME", "fanout").with("FANOUT_SINK_INFLUX_PASSWORD", INFLUX_PASSWORD)
                     .with("FANOUT_HTTP_TOKEN", API_TOKEN)
                     .start();
             Publisher publisher = new Publisher(broker);
             Chromium browser = new Chromium()) {
            Page page = new Page(browser);
            browser.open("http://127.0.0.1:" + bundle.httpPort + "/");
            assertEquals("FoxTrackr fan-out: status", browser.driver.getTitle());
            await().atMost(Duration.ofSeconds(20)).until(() -> "connected".equals(page.source("state .state")));
            assertEquals("broker: " + broker.url(), browser.text("#mode"));
            assertEquals("up", page.sink("state .state"));
            assertEquals("ok", browser.text("#outbox [data-field=state] .state"));
            assertEquals("0", page.source("received"));
            assertEquals("id-test-01, foxtrackr/#, " + broker.url(), page.source("where"));
            assertEquals("influxdb: " + influx.url(), page.sink("where"), "where the sink delivers, without its password");
            browser.script("window.statusPageIT = 'the same page'");

            FailureIT.publishBatteries(publisher, 0, 30);
            page.await().until(() -> page.count(page.source("received")) == 30 && page.count(page.sink("delivered")) == 30);
            assertTrue(page.rate(page.sink("rate")) > 0, "delivery rate while messages flow: " + page.sink("rate"));
            page.await().until(() -> "0".equals(page.sink("pending")));
            assertEquals("30", browser.text("#outbox [data-field=stored]"));

            FailureIT.publishBatteries(publisher, 30, 50);
            page.await().until(() -> page.count(page.source("received")) == 50 && page.count(page.sink("delivered")) == 50);
            assertTrue(page.rate(page.source("rate")) > 0, "receive rate while messages flow: " + page.source("rate"));
            assertEquals("the same page", browser.script("return window.statusPageIT"), "the figures changed without a reload");

            influx.stop();
            FailureIT.publishBatteries(publisher, 50, 60);
            page.await().until(() -> "retrying".equals(page.sink("state .state")) && "10".equals(page.sink("pending")));
            String reason = page.sink("state .reason");
            assertEquals("Connection refused", reason);
            assertEquals("60", page.source("received"));
            assertEquals("50", page.sink("delivered"));
            assertEquals("connected", page.source("state .state"), "ingestion goes on");
            assertTrue(page.sink("oldestPending").matches("\\d+ s"), page.sink("oldestPending"));
            assertEquals("0", page.sink("deadLetters"));
            assertEquals("ok", browser.text("#outbox [data-field=state] .state"));
            assertEquals("60", browser.text("#outbox [data-field=stored]"));
            // the pending count is shared and renewed in the background: the page says how old it is
            assertTrue(browser.text("#outbox [data-field=countedAgo]").matches("\\d+ s ago"), browser.text("#outbox [data-field=countedAgo]"));
            assertNoSecret(browser.driver.getPageSource() + bundle.http("GET", "/status.json"));

            influx.start();
            page.await().until(() -> "up".equals(page.sink("state .state")) && "0".equals(page.sink("pending")));
            assertEquals("60", page.sink("delivered"));
            assertNull(page.sink("state .reason"));
            assertEquals(60, influx.count("foxtrackr", "battery", "level"));
            assertEquals("the same page", browser.script("return window.statusPageIT"));
            assertTrue(bundle.http("GET", "/status").contains("<title>FoxTrackr fan-out: status</title>"));
            assertNoSecret(browser.driver.getPageSource() + bundle.http("GET", "/status.json"));

            // a dead letter: the sink is up, but not a plain green; the page lists it and replays it with the token
            publisher.publish("foxtrackr/grp-a/V3.0/bat", "{\"messageType\":1,\"deviceId\":\"no-battery\",\"version\":3,\"timeMs\":1}");
            page.await().until(() -> "1".equals(page.sink("deadLetters")));
            assertEquals("up", page.sink("state .state"));
            assertEquals("state warn", browser.script("return document.querySelector('#sinks tr[data-name=influx] [data-field=state] .state').className"));
            assertEquals("1 dead letters wait: see Dead letters", page.sink("state .reason"));
            page.await().until(() -> browser.text("#dlq tr[data-sink=influx]") != null);
            assertTrue(browser.text("#dlq tr[data-sink=influx]").contains("a battery message needs an object field 'battery'"),
                    browser.text("#dlq tr[data-sink=influx]"));
            browser.script("document.querySelector('button[data-replay=influx]').click()");
            page.await().until(() -> "influx: enter the token first".equals(browser.text("#dlq-answer")));
            browser.script("document.getElementById('token').value = arguments[0]", API_TOKEN);
            browser.script("document.querySelector('button[data-replay=influx]').click()");
            page.await().until(() -> "influx: replayed 1".equals(browser.text("#dlq-answer")));

            // the last 15 minutes: a point every 10 s, drawn without a reload
            page.await().until(() -> String.valueOf(browser.script("return document.querySelector("
                    + "'#sinks tr[data-name=influx] [data-field=chart] polyline.rate').getAttribute('points')")).split(" ").length >= 2);
            assertTrue(String.valueOf(browser.script("return document.querySelector("
                    + "'#sources tr[data-name=fleet] [data-field=chart] polyline.rate').getAttribute('points')")).contains(","));
            assertEquals("the same page", browser.script("return window.statusPageIT"));
            assertNoSecret(browser.driver.getPageSource() + bundle.http("GET", "/status.json"));
            assertFalse(browser.driver.getPageSource().contains(API_TOKEN), "the token is in no page element but its field's value");

            browser.script("console.info('StatusPageIT: console collected')");
            List<LogEntry> console = browser.console();
            assertTrue(console.stream().anyMatch(e -> e.getMessage().contains("StatusPageIT: console collected")), console.toString());
            assertEquals(List.of(), console.stream().filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).toList());
        }
    }

    static final String API_TOKEN = "status-page-replay-token-5";

    private static void assertNoSecret(String text) {
        assertFalse(text.contains(MQTT_PASSWORD), "the broker's password is shown");
        assertFalse(text.contains(INFLUX_PASSWORD), "InfluxDB's password is shown");
    }

    /** The page's figures, read from its DOM as they are displayed. */
    private record Page(Chromium browser) {
        /** A cell of the source "fleet"; field may go on with a selector inside it (state .reason). */
        String source(String field) {
            return browser.text("#sources tr[data-name=fleet] " + cell(field));
        }

        String sink(String field) {
            return browser.text("#sinks tr[data-name=influx] " + cell(field));
        }

        private static String cell(String field) {
            String[] parts = field.split(" ", 2);
            return "[data-field=" + parts[0] + "]" + (parts.length > 1 ? " " + parts[1] : "");
        }

        long count(String text) {
            return text == null ? -1 : Long.parseLong(text.replace(",", ""));
        }

        double rate(String text) {
            return Double.parseDouble(text.replace("/s", ""));
        }

        ConditionFactory await() {
            return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100));
        }
    }
}
