package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/** A real S3-compatible server (S3Proxy, its own process) on a free loopback port, keeping objects in memory. */
final class S3Proxy implements AutoCloseable {
    static final String KEY_ID = "test-key-id";
    static final String SECRET = "test-secret-access-key";
    final int port = Services.freePort();
    private final Path dir = Services.tempDir("s3proxy");
    private Process process;
    private S3Client client;

    S3Proxy start() {
        Path jar = Path.of(System.getProperty("s3proxy.jar", "target/test-servers/s3proxy.jar"));
        if (!Files.exists(jar)) {
            throw new IllegalStateException("S3Proxy is missing at " + jar + ": mvn verify copies it there");
        }
        try {
            Files.writeString(dir.resolve("s3proxy.conf"), String.join("\n",
                    "s3proxy.endpoint=http://127.0.0.1:" + port,
                    "s3proxy.authorization=aws-v2-or-v4",
                    "s3proxy.identity=" + KEY_ID,
                    "s3proxy.credential=" + SECRET,
                    "jclouds.provider=transient",
                    "jclouds.identity=" + KEY_ID,
                    "jclouds.credential=" + SECRET,
                    ""));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Path log = dir.resolve("s3proxy.log");
        process = Services.start(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-jar", jar.toAbsolutePath().toString(), "--properties", dir.resolve("s3proxy.conf").toString()), dir, log);
        Services.awaitListening(port, process, log);
        client = S3Client.builder().endpointOverride(URI.create(url())).region(Region.US_EAST_1).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY_ID, SECRET))).build();
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    S3Proxy createBucket(String bucket) {
        client.createBucket(b -> b.bucket(bucket));
        return this;
    }

    List<String> keys(String bucket) {
        return client.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream().map(S3Object::key).toList();
    }

    /** Every payload of every object in the bucket, as bytes. */
    List<byte[]> payloads(String bucket) throws IOException {
        List<byte[]> payloads = new ArrayList<>();
        for (String key : keys(bucket)) {
            try (InputStream in = client.getObject(b -> b.bucket(bucket).key(key))) {
                payloads.addAll(payloads(in.readAllBytes()));
            }
        }
        return payloads;
    }

    /** The payloads of an archive object, byte for byte. */
    /** Every payload archived in a directory archive's files, as read back from them. */
    static List<byte[]> payloadsIn(java.nio.file.Path directory) throws IOException {
        List<byte[]> payloads = new java.util.ArrayList<>();
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(directory)) {
            for (java.nio.file.Path file : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                payloads.addAll(payloads(java.nio.file.Files.readAllBytes(file)));
            }
        }
        return payloads;
    }

    static List<byte[]> payloads(byte[] gzip) throws IOException {
        return com.foxtrackr.fanout.ArchiveRecords.payloads(gzip);
    }

    /** CPU time the server has used so far. */
    long cpuMs() {
        return Services.cpuMs(process.pid());
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
        }
        Services.stop(process);
    }
}
