package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpServer;

/**
 * A partner's HTTP endpoint (POST /ingest) that answers 204 and counts requests and idempotency keys per payload,
 * for many thousands of calls. While down it answers 503 and takes nothing; it keeps its port all along, since a
 * port given up could be taken meanwhile by another server, which would answer instead.
 */
final class CountingPartner implements AutoCloseable {
    final Map<String, Set<String>> keysByPayload = new ConcurrentHashMap<>();
    final AtomicLong requests = new AtomicLong();
    volatile boolean down;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(8);

    CountingPartner() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 100);
        server.setExecutor(threads);
        server.createContext("/ingest", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (down) {
                exchange.sendResponseHeaders(503, -1);
            } else {
                keysByPayload.computeIfAbsent(new String(body, StandardCharsets.UTF_8), p -> ConcurrentHashMap.newKeySet())
                        .add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
                requests.incrementAndGet();
                exchange.sendResponseHeaders(204, -1);
            }
            exchange.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/ingest";
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
