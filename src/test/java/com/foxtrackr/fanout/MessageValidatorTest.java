package com.foxtrackr.fanout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checks of the ingest route, on the shared samples and on hostile values. */
class MessageValidatorTest {
    static final int LIMIT = 65536;
    final MessageValidator validator = new MessageValidator(LIMIT);
    final ObjectMapper json = MessageValidator.objectMapper(LIMIT);
    final DefaultCamelContext context = new DefaultCamelContext();

    static Stream<Path> validSamples() throws Exception {
        return Files.list(Path.of(MessageValidatorTest.class.getResource("/samples/valid").toURI())).sorted();
    }

    static Stream<Path> invalidSamples() throws Exception {
        return Files.list(Path.of(MessageValidatorTest.class.getResource("/samples/invalid").toURI())).sorted();
    }

    @ParameterizedTest
    @MethodSource("validSamples")
    void should_accept_the_valid_samples(Path sample) throws Exception {
        Exchange exchange = check(Files.readAllBytes(sample), "other");
        assertEquals("12345".length() > 0, exchange.getMessage().getHeader(MessageValidator.DEVICE_ID, String.class).length() > 0);
    }

    @ParameterizedTest
    @MethodSource("invalidSamples")
    void should_reject_the_invalid_samples_with_a_reason(Path sample) {
        Exception e = assertThrows(Exception.class, () -> check(Files.readAllBytes(sample), "battery"));
        assertTrue(!MessageValidator.reason(e).isBlank());
    }

    @ParameterizedTest
    @ValueSource(strings = {"line\nbreak", "tab\there", "back\\slash", "nul\u0000", "del\u007f", ""})
    void should_reject_device_ids_that_could_escape_their_place(String deviceId) {
        String payload = "{\"messageType\":1,\"deviceId\":" + json.valueToTree(deviceId) + ",\"version\":3,\"timeMs\":1,\"battery\":{\"level\":1}}";
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(payload.getBytes(StandardCharsets.UTF_8), "battery"));
        assertTrue(e.getMessage().startsWith("deviceId"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a,b=c d", "quote\"d", "../../etc", "x=y", "\u00e9t\u00e9", "\uD83D\uDE00"})
    void should_accept_device_ids_that_are_only_unusual(String deviceId) {
        String payload = "{\"messageType\":1,\"deviceId\":" + json.valueToTree(deviceId) + ",\"version\":3,\"timeMs\":1,\"battery\":{\"level\":1}}";
        assertDoesNotThrow(() -> check(payload.getBytes(StandardCharsets.UTF_8), "battery"));
    }

    @Test
    void should_reject_a_payload_over_the_size_limit_before_parsing_it() {
        byte[] big = new byte[LIMIT + 1];
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(big, "other"));
        assertTrue(e.getMessage().contains("over the limit"), e.getMessage());
    }

    @Test
    void should_reject_a_series_kind_without_its_object_or_values() {
        String noObject = "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1}";
        String noValues = "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1,\"battery\":{\"note\":\"x\"}}";
        assertThrows(InvalidMessageException.class, () -> check(noObject.getBytes(StandardCharsets.UTF_8), "battery"));
        assertThrows(InvalidMessageException.class, () -> check(noValues.getBytes(StandardCharsets.UTF_8), "battery"));
    }

    @Test
    void should_reject_duplicate_keys_and_deep_nesting() {
        String duplicate = "{\"messageType\":1,\"messageType\":2,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1}";
        String deep = "{\"x\":" + "[".repeat(40) + "]".repeat(40) + "}";
        assertThrows(Exception.class, () -> check(duplicate.getBytes(StandardCharsets.UTF_8), "other"));
        assertThrows(Exception.class, () -> check(deep.getBytes(StandardCharsets.UTF_8), "other"));
    }

    @Test
    void should_give_one_printable_line_as_reason() {
        String reason = MessageValidator.reason(new IllegalStateException("first\u0007 line\nsecond line"));
        assertEquals("first? line", reason);
    }

    /** What the ingest route does before the outbox, with the kind the content-based router would give. */
    private Exchange check(byte[] payload, String kind) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(payload);
        exchange.getMessage().setHeader(MessageValidator.TOPIC, "foxtrackr/g/V3.0/bat");
        validator.checkSize(exchange);
        exchange.getMessage().setBody(json.readTree(payload));
        validator.checkCommonFields(exchange);
        exchange.getMessage().setHeader(MessageValidator.KIND, kind);
        validator.checkSeries(exchange);
        return exchange;
    }
}
