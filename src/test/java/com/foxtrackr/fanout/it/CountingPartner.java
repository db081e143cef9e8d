package com.foxtrackr.fanout.it;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/**
 * A partner's HTTP endpoint (POST /ingest) that answers 204 and counts requests and idempotency keys per payload,
 * for many thousands of calls, one message per call or batches of them. While down it answers 503 and takes nothing; it keeps its port all along, since a
 * port given up could be taken meanwhile by another server, which would answer instead. Vert.x on one event loop:
 * it shares the machine with the bundle it measures, so it must cost little per call.
 */
final class CountingPartner implements AutoCloseable {
    private static final JsonFactory JSON = new JsonFactory();
    final Map<String, Set<String>> keysByPayload = new ConcurrentHashMap<>();
    final AtomicLong requests = new AtomicLong();
    /** TCP connections the partner accepted: a bundle that keeps its connections alive opens few. */
    final AtomicLong connections = new AtomicLong();
    volatile boolean down;
    /** The share of calls it fails at random, as a flapping partner does: two in three with 503, one a closed connection. */
    volatile double failureRate;
    /** Calls it failed so: neither taken nor counted in keysByPayload and requests. */
    final AtomicLong failed = new AtomicLong();
    /** A call whose body contains this text is refused with 400 and nothing of it is taken, as a bad message's batch is. */
    volatile String refuseContaining;
    /** Calls refused so. */
    final AtomicLong refused = new AtomicLong();
    /** Payloads taken, one per call, or each of a batch's (a JSON array, or NDJSON lines): with repeats. */
    final AtomicLong taken = new AtomicLong();
    /** The largest body it took. */
    final AtomicLong largestBody = new AtomicLong();
    /** The first payload containing this text is taken but not answered until release(): a partner that hangs on it. */
    volatile String holdOn;
    private final java.util.List<io.vertx.core.http.HttpServerRequest> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How long it takes to answer, as a partner far away on the network would. */
    volatile long answerDelayMs;
    /** The most requests it held at once, each waiting for its answer. */
    final AtomicLong peakInFlight = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();
    /** With recordArrivals: {the payload's timeMs, the time it arrived} for each call taken. */
    final java.util.Queue<long[]> arrivals = new java.util.concurrent.ConcurrentLinkedQueue<>();
    volatile boolean recordArrivals;
    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    private final HttpServer server;

    CountingPartner() throws Exception {
        server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .connectionHandler(connection -> connections.incrementAndGet())
                .requestHandler(request -> request.body().onSuccess(body -> {
                    if (!request.path().equals("/ingest")) {
                        request.response().setStatusCode(404).end();
                    } else if (down) {
                        request.response().setStatusCode(503).end();
                    } else if (failureRate > 0 && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < failureRate) {
                        failed.incrementAndGet();
                        if (java.util.concurrent.ThreadLocalRandom.current().nextInt(3) == 0) {
                            request.connection().close();
                        } else {
                            request.response().setStatusCode(503).end();
                        }
                    } else if (holdOn != null && body.toString(StandardCharsets.UTF_8).contains(holdOn)) {
                        keysByPayload.computeIfAbsent(body.toString(StandardCharsets.UTF_8), p -> ConcurrentHashMap.newKeySet())
                                .add(request.getHeader("Idempotency-Key"));
                        requests.incrementAndGet();
                        held.add(request);
                        holdOn = null; // the first such call only
                    } else if (refuseContaining != null && body.toString(StandardCharsets.UTF_8).contains(refuseContaining)) {
                        refused.incrementAndGet();
                        request.response().setStatusCode(400).end("refused: " + refuseContaining);
                    } else {
                        String key = request.getHeader("Idempotency-Key");
                        List<String> payloads = payloads(body.toString(StandardCharsets.UTF_8), request.getHeader("Content-Type"));
                        for (String payload : payloads) {
                            if (recordArrivals) {
                                arrivals.add(new long[] {timeMs(payload), System.currentTimeMillis()});
                            }
                            keysByPayload.computeIfAbsent(payload, p -> ConcurrentHashMap.newKeySet()).add(key);
                        }
                        taken.addAndGet(payloads.size());
                        largestBody.accumulateAndGet(body.length(), Math::max);
                        requests.incrementAndGet();
                        if (answerDelayMs == 0) {
                            request.response().setStatusCode(204).end();
                        } else {
                            peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                            vertx.setTimer(answerDelayMs, timer -> {
                                inFlight.decrementAndGet();
                                request.response().setStatusCode(204).end();
                            });
                        }
                    }
                }))
                .listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Answers the held calls. */
    void release() {
        vertx.runOnContext(v -> held.forEach(request -> request.response().setStatusCode(204).end()));
    }

    int held() {
        return held.size();
    }

    String url() {
        return "http://127.0.0.1:" + server.actualPort() + "/ingest";
    }

    /**
     * The payloads a call carries as they were written: a JSON array's elements, NDJSON's lines, or the body
     * (the array is read with a streaming parser, for each element's place in the text).
     */
    static List<String> payloads(String body, String contentType) {
        if (contentType != null && contentType.startsWith("application/x-ndjson")) {
            return List.of(body.split("\n"));
        }
        if (!body.startsWith("[")) {
            return List.of(body);
        }
        List<String> payloads = new ArrayList<>();
        try (JsonParser parser = JSON.createParser(body)) {
            parser.nextToken();
            while (parser.nextToken() == JsonToken.START_OBJECT) {
                int start = (int) parser.currentTokenLocation().getCharOffset();
                parser.skipChildren();
                payloads.add(body.substring(start, (int) parser.currentLocation().getCharOffset()));
            }
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not a JSON array: " + body, e);
        }
        return payloads;
    }

    /** A payload's "timeMs" field, read without a JSON parser (the partner must cost little per call). */
    static long timeMs(String payload) {
        int at = payload.indexOf("\"timeMs\":") + 9;
        int end = at;
        while (end < payload.length() && Character.isDigit(payload.charAt(end))) {
            end++;
        }
        return at < 9 || end == at ? -1 : Long.parseLong(payload.substring(at, end));
    }

    /** CPU time of its event loop so far: what the partner's side of the calls costs this machine. */
    long cpuMs() {
        return Services.threadCpuMs(name -> name.startsWith("vert.x-eventloop"));
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
