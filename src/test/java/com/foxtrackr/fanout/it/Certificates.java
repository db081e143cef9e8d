package com.foxtrackr.fanout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A certificate authority made by openssl for a test, in a temporary folder, and the server certificates it signs. */
final class Certificates {
    record Server(Path ca, Path cert, Path key) {
    }

    private final Path dir = Services.tempDir("certs");
    final Path ca = dir.resolve("ca.pem");
    private final Path caKey = dir.resolve("ca.key");

    Certificates(String name) {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "2", "-subj", "/CN=" + name);
    }

    /** A server certificate for a host name (its subject alternative name), signed by this CA. */
    Server server(String host) {
        Path key = dir.resolve(host + ".key");
        Path csr = dir.resolve(host + ".csr");
        Path cert = dir.resolve(host + ".pem");
        Path extensions = dir.resolve(host + ".ext");
        try {
            Files.writeString(extensions, "subjectAltName=DNS:" + host + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(),
                "-out", csr.toString(), "-subj", "/CN=" + host);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
                "-out", cert.toString(), "-days", "2", "-extfile", extensions.toString());
        return new Server(ca, cert, key);
    }

    private void openssl(String... args) {
        List<String> command = new ArrayList<>(List.of(Services.binary("openssl", "openssl")));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
