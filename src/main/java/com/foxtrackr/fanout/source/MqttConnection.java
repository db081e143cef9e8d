package com.foxtrackr.fanout.source;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Collection;

import javax.net.SocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttSecurityException;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.Secrets;
import com.foxtrackr.fanout.config.Settings;
import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * How the MQTT sources reach the broker, read once from fanout.mqtt.*: TLS trust (a PEM CA file, or the JVM's
 * trust store) with host name verification, and the credentials, which stay out of endpoint URIs (where a
 * password with & or + would be mangled, and could be logged). Also says in words why a connection failed.
 */
public final class MqttConnection {
    static final String CA_FILE = "fanout.mqtt.tls.ca-file";

    private final String url;
    private final String host;
    private final String username;
    private final String password;
    private final SocketFactory socketFactory;
    private final String trust;

    private MqttConnection(String url, String username, String password, SocketFactory socketFactory, String trust) {
        this.url = url;
        this.host = host(url);
        this.username = username;
        this.password = password;
        this.socketFactory = socketFactory;
        this.trust = trust;
    }

    public static MqttConnection fromSettings(Settings settings) {
        String url = settings.text("fanout.mqtt.url");
        boolean tls = url.startsWith("ssl://");
        if (!(tls || url.startsWith("tcp://")) || host(url) == null) {
            throw new ConfigException("fanout.mqtt.url", "is '" + url + "': write tcp://host:1883 or ssl://host:8883");
        }
        String username = settings.optional("fanout.mqtt.username").orElse(null);
        String password = settings.optional("fanout.mqtt.password").orElse(null);
        if (password != null && username == null) {
            throw new ConfigException("fanout.mqtt.password", "is set without fanout.mqtt.username (FANOUT_MQTT_USERNAME)");
        }
        Secrets.add(password);
        var caFile = settings.optional(CA_FILE);
        if (caFile.isEmpty()) {
            return new MqttConnection(url, username, password, tls ? null : new BufferedSocketFactory(), "the JVM's trust store");
        }
        if (!tls) {
            throw new ConfigException(CA_FILE, "is set, but fanout.mqtt.url ('" + url + "') does not use TLS: write ssl://host:8883");
        }
        Path file = Path.of(caFile.get());
        return new MqttConnection(url, username, password, trusting(file), CA_FILE + " (" + file + ")");
    }

    private static String host(String url) {
        try {
            return URI.create(url).getHost();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A socket factory that trusts exactly the certificates of a PEM file. */
    static SSLSocketFactory trusting(Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ConfigException(CA_FILE, "is '" + file + "', which is not a readable file");
        }
        try {
            byte[] pem = Files.readAllBytes(file);
            if (!new String(pem, StandardCharsets.ISO_8859_1).contains("-----BEGIN CERTIFICATE-----")) {
                throw new ConfigException(CA_FILE, "is '" + file + "', which holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem));
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int n = 0;
            for (Certificate certificate : certificates) {
                store.setCertificateEntry("ca-" + n++, certificate);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (ConfigException e) {
            throw e;
        } catch (Exception e) {
            throw new ConfigException(CA_FILE, "is '" + file + "', which cannot be read as PEM certificates: " + MessageValidator.reason(e));
        }
    }

    /** Credentials, TLS trust, host name verification (the broker's certificate must name the URL's host), MQTT 3.1.1. */
    public void apply(MqttConnectOptions options) {
        if (username != null) {
            options.setUserName(username);
        }
        if (password != null) {
            options.setPassword(password.toCharArray());
        }
        if (socketFactory != null) {
            options.setSocketFactory(socketFactory);
        }
        options.setHttpsHostnameVerificationEnabled(true);
        // MQTT 3.1.1 as the vendor speaks it; Paho's default would retry every refused connection with 3.1
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    }

    public String url() {
        return url;
    }

    /** Why a connection failed, in one line an operator can act on; never a credential. */
    public Failure describe(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof MqttSecurityException) {
                return new Failure(true, "not authorized: the broker refused "
                        + (username == null ? "an anonymous connection" : "user '" + username + "'")
                        + " (" + MessageValidator.reason(cause) + ": bad user name or password, or not allowed)");
            }
            if (cause instanceof CertificateException && String.valueOf(cause.getMessage()).contains("matching")) {
                return new Failure(true, "TLS: the broker's certificate is not for host " + host + " (" + MessageValidator.reason(cause) + ")");
            }
            if (cause instanceof CertPathBuilderException || cause instanceof CertPathValidatorException) {
                return new Failure(true, "TLS: the broker's certificate is not signed by a CA in " + trust + " ("
                        + MessageValidator.reason(cause) + ")");
            }
        }
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SSLException) {
                return new Failure(true, "TLS: " + MessageValidator.reason(cause));
            }
        }
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String reason = MessageValidator.reason(error);
        return new Failure(false, root == error ? reason : reason + ": " + MessageValidator.reason(root));
    }

    /** A connection failure: its reason, and whether only an operator can fix it (credentials, certificates). */
    public record Failure(boolean needsOperator, String reason) {
    }
}
