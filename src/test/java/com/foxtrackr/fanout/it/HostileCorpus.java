package com.foxtrackr.fanout.it;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Bad and hostile payloads and topics, each with why it is hostile and what must become of it: rejected
 * with a reason, or accepted and stored exactly (some refused by one sink only, into its dead-letter queue).
 */
final class HostileCorpus {
    static final String BAT = "foxtrackr/grp-h/V3.0/bat";
    static final String TEMP = "foxtrackr/grp-h/V3.0/temp";
    /** Text that a forged log line, point or header would carry: it must appear nowhere it was not sent. */
    static final String MARK = "INJECTED";

    enum Outcome {
        /** in the rejected store, byte for byte, with a reason containing the detail */
        REJECTED,
        /** in every sink that takes its kind, stored exactly */
        ACCEPTED,
        /** accepted; InfluxDB refuses its point, which goes to the InfluxDB sink's dead-letter queue (detail) */
        INFLUX_REFUSES
    }

    record Case(String name, String why, String topic, byte[] payload, Outcome outcome, String detail) {
        @Override
        public String toString() {
            return name;
        }
    }

    private final List<Case> cases = new ArrayList<>();
    // Twelve hours after the good messages: the same InfluxDB shard, so that a field type conflict is one.
    private long time = Messages.T0 + 12 * 3_600_000L;

    private HostileCorpus() {
    }

    /** A battery message with the given JSON text for deviceId and for the inside of "battery"; each a new time. */
    private String battery(String deviceIdJson, String batteryJson) {
        time += 1000;
        return "{\"messageType\":1,\"deviceId\":" + deviceIdJson + ",\"version\":3,\"timeMs\":" + time
                + ",\"battery\":{" + batteryJson + "}}";
    }

    private String battery(String deviceIdJson) {
        return battery(deviceIdJson, "\"level\":50,\"voltage\":3.7,\"charging\":false");
    }

    private void rejected(String name, String why, String payload, String reason) {
        rejected(name, why, BAT, payload.getBytes(StandardCharsets.UTF_8), reason);
    }

    private void rejected(String name, String why, String topic, byte[] payload, String reason) {
        cases.add(new Case(name, why, topic, payload, Outcome.REJECTED, reason));
    }

    private void accepted(String name, String why, String topic, String payload) {
        cases.add(new Case(name, why, topic, payload.getBytes(StandardCharsets.UTF_8), Outcome.ACCEPTED, null));
    }

    private void accepted(String name, String why, String payload) {
        accepted(name, why, BAT, payload);
    }

    private static byte[] replace(String text, String placeholder, byte... bytes) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int at = text.indexOf(placeholder);
        byte[] out = new byte[utf8.length - placeholder.length() + bytes.length];
        System.arraycopy(utf8, 0, out, 0, at);
        System.arraycopy(bytes, 0, out, at, bytes.length);
        System.arraycopy(utf8, at + placeholder.length(), out, at + bytes.length, utf8.length - at - placeholder.length());
        return out;
    }

    static List<Case> all() {
        HostileCorpus c = new HostileCorpus();
        String ok = c.battery("\"dev-ok\"");

        // Not JSON, or not one JSON object.
        c.rejected("truncated", "the payload stops in the middle of the battery object", ok.substring(0, ok.length() - 2),
                "end-of-input");
        c.rejected("not-json", "plain text where JSON is expected", "hello " + MARK, "Unrecognized token");
        c.rejected("top-level-array", "a JSON array, not an object", "[1,2,3]", "not a JSON object");
        c.rejected("top-level-string", "a JSON string, not an object", "\"" + MARK + "\"", "not a JSON object");
        c.rejected("top-level-null", "the JSON literal null", "null", "not a JSON object");
        c.rejected("empty", "no bytes at all", BAT, new byte[0], "empty payload");
        c.rejected("trailing-garbage", "a valid object followed by text: the archive line would not be one JSON value",
                c.battery("\"dev-trail\"") + " " + MARK, "Unrecognized token");
        c.rejected("two-objects", "a second object smuggled after the first, which would forge a message in the archive",
                c.battery("\"dev-first\"") + c.battery("\"" + MARK + "\""), "Trailing token");

        // Wrong types, missing fields, numbers out of range.
        c.rejected("message-type-string", "messageType as a word", c.battery("\"dev-mt\"").replace("\"messageType\":1", "\"messageType\":\"one\""),
                "field 'messageType' must be a whole number, not string");
        c.rejected("device-id-number", "deviceId as a number", c.battery("12345"), "field 'deviceId' must be a string, not number");
        c.rejected("device-id-object", "deviceId as an object that could carry anything", c.battery("{\"" + MARK + "\":1}"),
                "field 'deviceId' must be a string, not object");
        c.rejected("missing-device-id", "no deviceId", c.battery("\"x\"").replace("\"deviceId\":\"x\",", ""), "missing field 'deviceId'");
        c.rejected("missing-time", "no timeMs", c.battery("\"dev-nt\"").replaceAll(",\"timeMs\":\\d+", ""), "missing field 'timeMs'");
        c.rejected("time-negative", "timeMs before 1970", c.battery("\"dev-neg\"").replaceAll("\"timeMs\":\\d+", "\"timeMs\":-1"),
                "field 'timeMs' is out of range: -1");
        c.rejected("time-after-2262", "timeMs past what InfluxDB can store in nanoseconds",
                c.battery("\"dev-far\"").replaceAll("\"timeMs\":\\d+", "\"timeMs\":9223372036855"), "field 'timeMs' is out of range");
        c.rejected("time-fraction", "timeMs with a fraction", c.battery("\"dev-frac\"").replaceAll("\"timeMs\":(\\d+)", "\"timeMs\":$1.5"),
                "field 'timeMs' must be a whole number");
        c.rejected("message-type-huge", "messageType beyond a 64-bit number",
                c.battery("\"dev-big\"").replace("\"messageType\":1", "\"messageType\":123456789012345678901234567890"),
                "field 'messageType' must be a whole number");
        c.rejected("number-too-long", "a number of 100 digits, which costs time to parse",
                c.battery("\"dev-long-number\"", "\"level\":" + "9".repeat(100)), "Number value length");
        c.rejected("nan", "NaN is not JSON", c.battery("\"dev-nan\"", "\"level\":NaN"), "Non-standard token 'NaN'");
        c.rejected("infinity", "Infinity is not JSON", c.battery("\"dev-inf\"", "\"level\":-Infinity"), "Non-standard token '-Infinity'");

        // Size, nesting, duplicates.
        String pad = ",\"pad\":\"" + "x".repeat(70_000) + "\"";
        c.rejected("over-size-limit", "70 kB, over the 64 KiB limit: refused before parsing",
                c.battery("\"dev-huge\"", "\"level\":1" + pad), "is over the limit of 65536 bytes");
        c.rejected("deep-nesting", "nesting 200 deep, which a recursive parser or mapper could overflow",
                c.battery("\"dev-deep\"", "\"level\":1,\"x\":" + "[".repeat(200) + "]".repeat(200)), "nesting depth");
        c.rejected("duplicate-device-id", "two deviceIds: one checked, the other stored elsewhere",
                c.battery("\"dev-a\"").replace("\"deviceId\":\"dev-a\"", "\"deviceId\":\"dev-a\",\"deviceId\":\"" + MARK + "\""),
                "Duplicate field 'deviceId'");
        c.rejected("duplicate-key-newline", "a duplicate key with a forged log line: the parser quotes the key in its error",
                c.battery("\"dev-dk\"", "\"x\\n2026-01-01T00:00:00.000Z ERROR " + MARK + " forged\":1,\"x\\n2026-01-01T00:00:00.000Z ERROR "
                        + MARK + " forged\":2"), "Duplicate field 'x");
        c.rejected("duplicate-key-line-separator", "the same with U+2028, a line break to log viewers, which a reason must not carry",
                c.battery("\"dev-dk2\"", "\"x\u2028" + MARK + " forged\":1,\"x\u2028" + MARK + " forged\":2"), "Duplicate field 'x?" + MARK);

        // Bytes that are not UTF-8 JSON text.
        c.rejected("latin-1", "a device id in Latin-1, not UTF-8", BAT, c.battery("\"caf\u00e9\"").getBytes(StandardCharsets.ISO_8859_1),
                "payload is not valid UTF-8");
        c.rejected("overlong-slash", "an overlong UTF-8 '/', which a lax decoder reads as a path separator", BAT,
                replace(c.battery("\"dev#\""), "#", (byte) 0xC0, (byte) 0xAF), "payload is not valid UTF-8");
        c.rejected("encoded-surrogate", "a UTF-16 surrogate encoded as UTF-8 (CESU-8)", BAT,
                replace(c.battery("\"dev-s\"", "\"level\":1,\"note\":\"#\""), "#", (byte) 0xED, (byte) 0xA0, (byte) 0x80),
                "payload is not valid UTF-8");
        c.rejected("utf-16", "the whole message in UTF-16: the archive and partners would get bytes that are not UTF-8 JSON", BAT,
                c.battery("\"dev-utf16\"").getBytes(StandardCharsets.UTF_16), "NUL byte");
        c.rejected("utf-32", "the whole message in UTF-32", BAT, c.battery("\"dev-utf32\"").getBytes(Charset.forName("UTF-32")), "NUL byte");
        c.rejected("byte-order-mark", "a UTF-8 byte order mark, which many JSON readers of the archive refuse",
                "\uFEFF" + c.battery("\"dev-bom\""), "byte order mark");

        // Device ids and field names that would break out of a line: log, line protocol, header.
        c.rejected("device-id-newline", "a forged log line after a newline",
                c.battery("\"dev\\n2026-01-01T00:00:00.000Z ERROR " + MARK + " forged log line\""), "deviceId contains a control character");
        c.rejected("device-id-crlf-header", "CR LF and a forged header",
                c.battery("\"dev\\r\\nX-" + MARK + ": 1\""), "deviceId contains a control character");
        c.rejected("device-id-raw-newline", "a raw newline byte inside the string", c.battery("\"dev\n" + MARK + "\""),
                "CTRL-CHAR, code 10");
        c.rejected("device-id-line-protocol", "a newline and a second point in line protocol",
                c.battery("\"x level=1 1\\nbattery,deviceId=" + MARK + " level=666 1\""), "deviceId contains a control character");
        c.rejected("device-id-nul", "a NUL character, which ends strings in C", c.battery("\"dev\\u0000" + MARK + "\""),
                "deviceId contains a control character");
        c.rejected("device-id-ansi", "terminal escape codes that repaint an operator's screen", c.battery("\"dev\\u001b[2J\\u001b[31m" + MARK + "\""),
                "deviceId contains a control character");
        c.rejected("device-id-nel", "U+0085 NEXT LINE, a line break to some log readers", c.battery("\"dev\\u0085" + MARK + "\""),
                "deviceId contains a control character");
        c.rejected("device-id-empty", "an empty tag value, which line protocol cannot carry", c.battery("\"\""), "deviceId is empty");
        c.rejected("device-id-lone-surrogate", "half a UTF-16 pair, which cannot be encoded", c.battery("\"dev\\ud800\""),
                "deviceId contains a control character or broken character");
        c.rejected("topic-backslash", "a backslash in the group, which would escape the tag separator",
                "foxtrackr/grp\\h/V3.0/bat", c.battery("\"dev-tb\"").getBytes(StandardCharsets.UTF_8), "topic contains a backslash");

        // Accepted: unusual but harmless values, stored exactly where they belong.
        c.accepted("device-id-line-protocol-specials", "commas, equals and spaces, the separators of line protocol", c.battery("\"a,b=c d\""));
        c.accepted("device-id-forged-tag", "tries to add a group tag and a field", c.battery("\"x,group=" + MARK + " level=666\""));
        c.accepted("device-id-path-traversal", "a path out of the archive directory", c.battery("\"../../etc/passwd\""));
        c.accepted("device-id-slashes", "slashes, as S3 key separators", c.battery("\"a/b/c\""));
        c.accepted("device-id-quotes", "double and single quotes", c.battery("\"say \\\"hi\\\" 'there'\""));
        c.accepted("device-id-header", "looks like an HTTP header", c.battery("\"Idempotency-Key: " + MARK + "\""));
        c.accepted("device-id-unicode", "accents, an emoji and a right-to-left override",
                c.battery("\"\u00e9t\u00e9-\uD83E\uDD8A-\u202Eevil\""));
        c.accepted("device-id-escaped-slash", "JSON escapes that decode to '/' and '.'", c.battery("\"\\u002e\\u002e\\u002fx\""));
        c.accepted("device-id-200", "a long device id: InfluxDB holds it as a tag", c.battery("\"" + "d".repeat(200) + "\""));
        c.accepted("device-id-inner-backslash", "a backslash line protocol carries as it is", c.battery("\"dev\\\\x\""));
        c.accepted("battery-text-only", "a battery object with only a text value: a string field", c.battery("\"dev-text\"", "\"state\":\"low\""));
        c.accepted("field-name-specials", "a field name with line protocol separators and quotes",
                c.battery("\"dev-fs\"", "\"lev el,x=1\\\"\":5"));
        c.accepted("extreme-numbers", "the largest and the smallest double, and a huge whole number",
                c.battery("\"dev-extreme\"", "\"max\":1.7976931348623157e308,\"min\":4.9e-324,\"big\":123456789012345678901234567890"));
        c.accepted("overflow-beside-value", "1e400 is dropped, the rest is kept", c.battery("\"dev-overflow2\"", "\"level\":1,\"over\":1e400"));
        c.accepted("nested-30", "nested 30 deep inside the battery object",
                c.battery("\"dev-nested\"", "\"n\":" + "{\"a\":".repeat(29) + "1" + "}".repeat(29)));
        c.accepted("huge-string", "a 60 kB string, under the size limit", c.battery("\"dev-str\"", "\"level\":1,\"note\":\"" + "y".repeat(60_000) + "\""));
        c.accepted("line-separator", "U+2028 inside a string: a line break to JavaScript, not to NDJSON",
                c.battery("\"dev-ls\"", "\"level\":1,\"note\":\"a\u2028b\u2029c\""));
        c.accepted("time-zero", "the first millisecond of 1970", c.battery("\"dev-t0\"").replaceAll("\"timeMs\":\\d+", "\"timeMs\":0"));
        c.accepted("time-2262", "the last millisecond InfluxDB can store",
                c.battery("\"dev-tmax\"").replaceAll("\"timeMs\":\\d+", "\"timeMs\":9223372036854"));
        c.accepted("unknown-type", "a messageType no series is configured for: archived and forwarded only",
                c.battery("\"dev-other\"").replace("\"messageType\":1", "\"messageType\":99"));
        c.accepted("topic-type-mismatch", "a battery message on a temperature topic: the messageType decides", TEMP, c.battery("\"dev-mismatch\""));
        c.accepted("topic-extra-levels", "more levels than the vendor's four", "foxtrackr/grp-h/V3.0/bat/extra/levels", c.battery("\"dev-levels\""));
        c.accepted("topic-one-level", "no group level at all", "foxtrackr", c.battery("\"dev-nogroup\""));
        c.accepted("topic-empty-group", "an empty group level", "foxtrackr//V3.0/bat", c.battery("\"dev-emptygroup\""));
        c.accepted("topic-group-specials", "a group with line protocol separators", "foxtrackr/g r,p=" + MARK + "/V3.0/bat",
                c.battery("\"dev-gspecial\""));
        c.accepted("topic-dot-dot", "a group named '..'", "foxtrackr/../V3.0/bat", c.battery("\"dev-dotdot\""));

        // Accepted, but one sink cannot take it: only that sink's dead-letter queue gets it.
        c.cases.add(new Case("field-named-time", "InfluxDB refuses a point whose only field is called time; it held back every point behind it",
                BAT, c.battery("\"dev-time\"", "\"time\":5").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES,
                "invalid field name"));
        c.cases.add(new Case("field-type-conflict", "level as a boolean where InfluxDB holds floats",
                BAT, c.battery("\"dev-conflict\"", "\"level\":true").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES,
                "field type conflict"));
        c.cases.add(new Case("topic-group-65500", "a group of 65,500 characters: a series key over InfluxDB's limit",
                "foxtrackr/" + "g".repeat(65_500) + "/V3.0/bat", c.battery("\"dev-longgroup\"").getBytes(StandardCharsets.UTF_8),
                Outcome.INFLUX_REFUSES, "max key length exceeded"));
        // What line protocol cannot carry: InfluxDB's dead letters; the archives and the partner get it.
        c.cases.add(new Case("overflow-only-value", "1e400 overflows to infinity, and then the battery has no value left",
                BAT, c.battery("\"dev-overflow\"", "\"level\":1e400").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES,
                "'battery' has no number, boolean or string"));
        c.cases.add(new Case("battery-missing", "a battery message without its battery object", BAT,
                c.battery("\"dev-nobat\"").replaceAll(",\"battery\":\\{.*}}$", "}").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES,
                "a battery message needs an object field 'battery'"));
        c.cases.add(new Case("battery-array", "battery as an array", BAT,
                c.battery("\"dev-batarr\"").replaceAll("\"battery\":\\{.*}}$", "\"battery\":[1,2]}").getBytes(StandardCharsets.UTF_8),
                Outcome.INFLUX_REFUSES, "a battery message needs an object field 'battery'"));
        c.cases.add(new Case("battery-empty", "an empty battery object", BAT,
                c.battery("\"dev-batempty\"", "").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES, "'battery' has no number"));
        c.cases.add(new Case("device-id-backslash", "a trailing backslash would escape the line protocol's separator", BAT,
                c.battery("\"dev\\\\\"").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES, "deviceId has a control character, or a backslash"));
        c.cases.add(new Case("field-name-newline", "a newline in a field name, which would end the point", BAT,
                c.battery("\"dev-fn\"", "\"lev\\nel\":1").getBytes(StandardCharsets.UTF_8), Outcome.INFLUX_REFUSES,
                "battery field name has a control character"));
        c.cases.add(new Case("text-newline-forged-point", "a newline and a second point inside a text value", BAT,
                c.battery("\"dev-tn\"", "\"state\":\"x\\nbattery,deviceId=" + MARK + " level=666 1\"").getBytes(StandardCharsets.UTF_8),
                Outcome.INFLUX_REFUSES, "battery field 'state' holds a control character"));
        // line breaks: the archive keeps them, in a record whose payload is base64
        c.cases.add(new Case("pretty-printed", "valid JSON over several lines", BAT,
                c.battery("\"dev-pretty\"").replace(",", ",\n  ").getBytes(StandardCharsets.UTF_8), Outcome.ACCEPTED, null));
        c.cases.add(new Case("trailing-newline", "valid JSON and a newline, as echo and mosquitto_pub -f send it", BAT,
                (c.battery("\"dev-nl\"") + "\n").getBytes(StandardCharsets.UTF_8), Outcome.ACCEPTED, null));
        c.cases.add(new Case("crlf", "valid JSON with CRLF line ends, as a Windows tool writes it", BAT,
                c.battery("\"dev-crlf\"").replace(",", ",\r\n").concat("\r\n").getBytes(StandardCharsets.UTF_8), Outcome.ACCEPTED, null));
        return List.copyOf(c.cases);
    }
}
