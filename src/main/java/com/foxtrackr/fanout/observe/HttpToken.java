package com.foxtrackr.fanout.observe;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Guards replay and purge over HTTP: only with fanout.http.token in an Authorization: Bearer header. A browser
 * cannot send that header across sites without the server's consent (which it never gives), so a form or a
 * script on another page cannot replay or purge; a token in a cookie, form field or query is not read.
 */
public class HttpToken implements Processor {
    /** An HTTP request refused: its status and a reason. */
    public static class RefusedException extends RuntimeException {
        private final int status;

        RefusedException(int status, String reason) {
            super(reason);
            this.status = status;
        }

        public int getStatus() {
            return status;
        }
    }

    private final byte[] expected;

    /** With the token, or null when none is configured: then replay and purge over HTTP are refused. */
    public HttpToken(String token) {
        this.expected = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void process(Exchange exchange) {
        String given = exchange.getMessage().getHeader("Authorization", String.class);
        exchange.getMessage().removeHeader("Authorization");
        if (expected == null) {
            throw new RefusedException(403, "replay and purge over HTTP need fanout.http.token (FANOUT_HTTP_TOKEN) to be set;"
                    + " the jar's dlq command needs none");
        }
        if (given == null || !MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
            throw new RefusedException(401, "replay and purge need the header Authorization: Bearer <fanout.http.token>");
        }
    }
}
