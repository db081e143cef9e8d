package com.foxtrackr.fanout.config;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * The configuration's secret values (the broker's password, sink passwords, tokens and keys): every log line
 * (through the converters below, named in logback.xml) and every stored or shown error (MessageValidator.reason)
 * has them replaced by a mask, whoever wrote the text: our code, Camel, a client library, or a partner's answer.
 */
public final class Secrets {
    static final String MASK = "******";
    /** Shorter values would mask ordinary text; a secret this short is no secret. */
    private static final int MIN_LENGTH = 4;
    private static final List<String> VALUES = new CopyOnWriteArrayList<>();

    private Secrets() {
    }

    public static synchronized void add(String value) {
        if (value == null || value.length() < MIN_LENGTH) {
            return;
        }
        for (String form : List.of(value, URLEncoder.encode(value, StandardCharsets.UTF_8),
                URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20"))) {
            if (!VALUES.contains(form)) {
                VALUES.add(form);
            }
        }
        VALUES.sort(Comparator.comparingInt(String::length).reversed());
    }

    /**
     * The secrets among environment variables, by their names (FANOUT_MQTT_PASSWORD, FANOUT_SINK_ACME_BEARER_TOKEN,
     * ..._SECRET_ACCESS_KEY, ...), before anything reads them: Camel logs a property's value at DEBUG when it resolves it.
     */
    public static void fromEnvironment(Map<String, String> environment) {
        environment.forEach((name, value) -> {
            if (isSecret(name.toLowerCase(Locale.ROOT).replace('_', '-'))) {
                add(value);
            }
        });
    }

    /** Whether an option holds a secret, by its name. */
    public static boolean isSecret(String option) {
        return option.endsWith("password") || option.endsWith("token") || option.endsWith("secret-access-key")
                || option.endsWith("access-key-id");
    }

    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        for (String value : VALUES) {
            if (text.contains(value)) {
                text = text.replace(value, MASK);
            }
        }
        return text;
    }

    /** %redactedMsg: the log message with secrets masked. */
    public static class RedactedMessage extends MessageConverter {
        @Override
        public String convert(ILoggingEvent event) {
            return redact(super.convert(event));
        }
    }

    /** %json(...): what the parentheses hold (an already redacted message or stack trace), escaped for a JSON string. */
    public static class JsonString extends ch.qos.logback.core.pattern.CompositeConverter<ILoggingEvent> {
        @Override
        protected String transform(ILoggingEvent event, String in) {
            StringBuilder out = new StringBuilder(in.length() + 16);
            for (char c : in.toCharArray()) {
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            return out.toString();
        }
    }

    /** %oneLineMsg: the log message with secrets masked and its line breaks escaped: one event, one line. */
    public static class OneLineMessage extends RedactedMessage {
        @Override
        public String convert(ILoggingEvent event) {
            return escapeLineBreaks(super.convert(event));
        }
    }

    /**
     * Every character that a reader may take for the end of a line (CR, LF, NEL and the Unicode line and paragraph
     * separators), written as an escape: a value quoted in a message (a payload's key in a parser's error) cannot
     * start a line of its own.
     */
    static String escapeLineBreaks(String text) {
        if (text.chars().noneMatch(c -> c == '\r' || c == '\n' || c == '\u0085' || c == '\u2028' || c == '\u2029')) {
            return text;
        }
        return text.replace("\r", "\\r").replace("\n", "\\n").replace("\u0085", "\\u0085").replace("\u2028", "\\u2028")
                .replace("\u2029", "\\u2029");
    }

    /** %oneLineEx: the stack trace, masked, after " | " on the event's line, its lines separated by " \\n ". */
    public static class OneLineThrowable extends RedactedThrowable {
        @Override
        public String convert(ILoggingEvent event) {
            String text = super.convert(event);
            if (text.isEmpty()) {
                return text;
            }
            return " | " + escapeLineBreaks(text.strip().replace("\r", "").replace("\t", "").replace("\n", " \\n "));
        }
    }

    /** %redactedEx: the stack trace with secrets masked (exception messages can quote URIs and answers). */
    public static class RedactedThrowable extends ThrowableProxyConverter {
        @Override
        public String convert(ILoggingEvent event) {
            return redact(super.convert(event));
        }
    }
}
