package com.foxtrackr.fanout.observe;

import java.util.Map;

import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.config.Secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The status page's two computations: URLs without user info, and rates from successive samples. */
class StatusPageTest {
    // A broker URL with user info loses it, whether or not java.net.URI can parse it; a configured secret is masked.
    @Test
    void should_show_a_url_without_its_user_info() {
        assertEquals("tcp://broker:1883", StatusPage.withoutUserInfo("tcp://fanout:Pa55word@broker:1883"));
        assertEquals("ssl://broker:8883", StatusPage.withoutUserInfo("ssl://fanout@broker:8883"));
        assertEquals("tcp://broker:1883", StatusPage.withoutUserInfo("tcp://fanout:pa ss@word@broker:1883"));
        assertEquals("tcp://127.0.0.1:1883", StatusPage.withoutUserInfo("tcp://127.0.0.1:1883"));
        Secrets.add("status-page-unit-secret");
        assertEquals("tcp://host:1883/******", StatusPage.withoutUserInfo("tcp://host:1883/status-page-unit-secret"));
    }

    // No rate before samples span about a second; then the rate over the newest sample at least 5 s old.
    @Test
    void should_compute_rates_per_second_from_successive_samples() {
        StatusPage page = new StatusPage(null, null, null, null);
        assertEquals(Map.of(), page.rates(10_000, Map.of("sink:a", 0L)));
        assertEquals(Map.of(), page.rates(10_500, Map.of("sink:a", 5L)));
        assertEquals(Map.of("sink:a", 10.0), page.rates(11_000, Map.of("sink:a", 10L)));
        assertEquals(Map.of("sink:a", 10.0), page.rates(16_000, Map.of("sink:a", 60L)));
        assertEquals(Map.of("sink:a", 0.0), page.rates(22_000, Map.of("sink:a", 60L)));
    }
}
