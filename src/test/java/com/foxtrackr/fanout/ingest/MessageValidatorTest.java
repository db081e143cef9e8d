package com.foxtrackr.fanout.ingest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checks of the ingest route, on the shared samples and on hostile values. */
public class MessageValidatorTest {
    static final int LIMIT = 65536;
    static final String OK = "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1,\"battery\":{\"level\":1}}";
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
    @ValueSource(strings = {"line\nbreak", "tab\there", "nul\u0000", "del\u007f", ""})
    void should_reject_device_ids_that_could_escape_their_place(String deviceId) {
        String payload = "{\"messageType\":1,\"deviceId\":" + json.valueToTree(deviceId) + ",\"version\":3,\"timeMs\":1,\"battery\":{\"level\":1}}";
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(payload.getBytes(StandardCharsets.UTF_8), "battery"));
        assertTrue(e.getMessage().startsWith("deviceId"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a,b=c d", "quote\"d", "../../etc", "x=y", "\u00e9t\u00e9", "\uD83D\uDE00", "back\\slash", "end\\",
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
            + "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"})
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

    // What only InfluxDB cannot hold is its sink's business (InfluxPointsTest): every other sink takes it.
    @ParameterizedTest
    @ValueSource(strings = {"", ",\"battery\":{}", ",\"battery\":{\"state\":\"low\"}", ",\"battery\":7"})
    void should_accept_a_series_kind_without_its_object_or_numbers(String series) {
        String payload = "{\"messageType\":1,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1" + series + "}";
        assertDoesNotThrow(() -> check(payload.getBytes(StandardCharsets.UTF_8), "battery"));
    }

    @Test
    void should_reject_duplicate_keys_and_deep_nesting() {
        String duplicate = "{\"messageType\":1,\"messageType\":2,\"deviceId\":\"d\",\"version\":3,\"timeMs\":1}";
        String deep = "{\"x\":" + "[".repeat(40) + "]".repeat(40) + "}";
        assertThrows(Exception.class, () -> check(duplicate.getBytes(StandardCharsets.UTF_8), "other"));
        assertThrows(Exception.class, () -> check(deep.getBytes(StandardCharsets.UTF_8), "other"));
    }

    // The archive and partners get the raw bytes: they must be the UTF-8 JSON text that was checked.
    @ParameterizedTest
    @ValueSource(strings = {"UTF-16BE", "UTF-16LE", "UTF-16", "UTF-32"})
    void should_reject_json_that_is_not_utf8(String charset) {
        byte[] payload = OK.getBytes(java.nio.charset.Charset.forName(charset));
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(payload, "battery"));
        assertTrue(e.getMessage().contains("NUL byte"), e.getMessage());
    }

    @Test
    void should_reject_a_byte_order_mark_and_malformed_utf8() {
        byte[] bom = ("\uFEFF" + OK).getBytes(StandardCharsets.UTF_8);
        assertTrue(assertThrows(InvalidMessageException.class, () -> check(bom, "battery")).getMessage().contains("byte order mark"));
        // an overlong '/', an encoded surrogate, and Latin-1: the parser would read the first two as text
        for (byte[] bad : List.of(new byte[] {(byte) 0xC0, (byte) 0xAF}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                new byte[] {(byte) 0xE9})) {
            byte[] payload = OK.replace("\"d\"", "\"d" + "#".repeat(bad.length) + "\"").getBytes(StandardCharsets.UTF_8);
            System.arraycopy(bad, 0, payload, OK.indexOf("\"d\"") + 2, bad.length);
            InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(payload, "battery"));
            assertEquals("payload is not valid UTF-8 at byte " + (OK.indexOf("\"d\"") + 2), e.getMessage());
        }
    }

    // "{...} {...}" would pass as its first object and reach the archive as two objects on one line.
    @ParameterizedTest
    @ValueSource(strings = {" x", "{}", ",", "]", " null"})
    void should_reject_anything_after_the_object(String trailer) {
        assertThrows(InvalidMessageException.class, () -> check((OK + trailer).getBytes(StandardCharsets.UTF_8), "battery"));
        assertDoesNotThrow(() -> check((OK + " \t\r\n").getBytes(StandardCharsets.UTF_8), "battery"));
    }

    // The parser quotes the payload in its messages: Camel logs the exception at DEBUG, so it must be one line.
    @Test
    void should_turn_a_parse_error_into_a_one_line_reason() {
        String duplicate = "{\"a\\n2026-01-01 ERROR forged\":1,\"a\\n2026-01-01 ERROR forged\":2}";
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> check(duplicate.getBytes(StandardCharsets.UTF_8), "other"));
        assertEquals("Duplicate field 'a", e.getMessage());
    }

    // InfluxDB quotes a refused point before saying what is wrong with it.
    @Test
    void should_keep_the_start_and_the_end_of_a_long_reason() {
        String reason = MessageValidator.reason(new IllegalStateException("unable to parse 'battery,group=" + "g".repeat(70_000)
                + " level=1.0 1': max key length exceeded: 70037 > 65535"));
        assertTrue(reason.startsWith("unable to parse 'battery,group=ggg"), reason);
        assertTrue(reason.endsWith("g level=1.0 1': max key length exceeded: 70037 > 65535"), reason);
        assertEquals(505, reason.length());
    }

    // A truncated payload's reason says what is wrong, without the parser's note on how it hides its input.
    @Test
    void should_not_quote_the_parsers_source_note_in_a_reason() {
        byte[] truncated = "{\"messageType\":1,\"deviceId\":\"d\",\"battery\":{\"level\":1".getBytes(StandardCharsets.UTF_8);
        Exception e = assertThrows(InvalidMessageException.class, () -> check(truncated, "battery"));
        String reason = MessageValidator.reason(e);
        assertTrue(reason.startsWith("Unexpected end-of-input"), reason);
        assertFalse(reason.contains("Source") || reason.contains("REDACTED") || reason.contains("StreamReadFeature"), reason);
    }

    @Test
    void should_give_one_printable_line_as_reason() {
        String reason = MessageValidator.reason(new IllegalStateException("first\u0007 line\nsecond line"));
        assertEquals("first? line", reason);
        assertEquals("a?b?c?d", MessageValidator.reason(new IllegalStateException("a\u0085b\u2028c\u2029d")));
    }

    /** The ingest route's unmarshal: camel-jackson with the strict parser; a parse error is the message's reason. */
    public static void unmarshal(Exchange exchange) throws InvalidMessageException {
        try (var format = new org.apache.camel.component.jackson.JacksonDataFormat(MessageValidator.objectMapper(65536),
                com.fasterxml.jackson.databind.JsonNode.class)) {
            format.setCamelContext(exchange.getContext());
            format.start();
            exchange.getMessage().setBody(format.unmarshal(exchange, new java.io.ByteArrayInputStream(exchange.getMessage().getBody(byte[].class))));
        } catch (Exception e) {
            throw new InvalidMessageException(MessageValidator.reason(e));
        }
    }

    /** What the ingest route does before the outbox, with the kind the content-based router would give. */
    private Exchange check(byte[] payload, String kind) throws Exception {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(payload);
        exchange.getMessage().setHeader(MessageValidator.TOPIC, "foxtrackr/g/V3.0/bat");
        validator.checkSize(exchange);
        validator.checkEncoding(exchange);
        MessageValidatorTest.unmarshal(exchange);
        validator.checkCommonFields(exchange);
        exchange.getMessage().setHeader(MessageValidator.KIND, kind);
        return exchange;
    }
}
