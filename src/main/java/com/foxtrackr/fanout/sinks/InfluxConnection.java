package com.foxtrackr.fanout.sinks;

import java.util.Set;
import java.util.concurrent.TimeUnit;

import okhttp3.OkHttpClient;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.influxdb.InfluxDB;
import org.influxdb.InfluxDBFactory;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.ConfigKeys;
import com.foxtrackr.fanout.ingest.MessageValidator;
import com.foxtrackr.fanout.outbox.Batch;
import com.foxtrackr.fanout.outbox.SinkFilter;

/**
 * An influxdb sink's connection (a bean of sink-influxdb.yaml): maps a batch to the points of its database and
 * retention policy, and makes the client the influxdb component writes with, bound as influxdb-(sink): InfluxDB 1.x
 * with an optional user, or 2.x and 3.x through their 1.x write API with an API token.
 */
public class InfluxConnection implements CamelContextAware {
    private CamelContext context;
    private InfluxPoints points;
    private String database;
    private String retentionPolicy;
    private String sink;
    private String url;
    private String version = "1";
    private String token;
    private String username;
    private String password;
    private long timeoutMs = 10_000;
    private String kinds = "";

    /** When the route is made, before its influxdb endpoint looks for the client. */
    public void connect() {
        points = context.getRegistry().lookupByNameAndType("influxPoints", InfluxPoints.class);
        context.getRegistry().bind("influxdb-" + sink, build());
    }

    /** The batch's points; the messages that no point can hold are in the result's refused. */
    public InfluxPoints.Mapped map(Batch batch) throws java.io.IOException {
        return points.map(batch, database, retentionPolicy);
    }

    public InfluxDB build() {
        String prefix = "fanout.sink." + sink + ".";
        SinkFilter filter = SinkFilter.parse(prefix, kinds, null);
        if (filter.kinds().isEmpty() || filter.kinds().contains(MessageValidator.OTHER_KIND) || !filter.codes().isEmpty()) {
            throw new ConfigException(prefix + "kinds", "must list series kinds by name (such as battery,temperature): "
                    + "'other' messages have no series to write");
        }
        if (!Set.of("1", "2", "3").contains(version)) {
            throw new ConfigException(prefix + "version", "is '" + version + "': write 1, 2 or 3 (InfluxDB's major version)");
        }
        if (!version.equals("1") && token == null) {
            throw new ConfigException(prefix + "token", "is required for InfluxDB " + version + ".x: an API token with write access,"
                    + " from the environment (" + ConfigKeys.envName(prefix + "token") + ")");
        }
        if (version.equals("1") && token != null) {
            throw new ConfigException(prefix + "token", "is for InfluxDB 2.x and 3.x: set " + prefix + "version to 2 or 3"
                    + " (InfluxDB 1.x takes username and password)");
        }
        OkHttpClient.Builder http = new OkHttpClient.Builder()
                .connectTimeout(timeoutMs, TimeUnit.MILLISECONDS)
                .readTimeout(timeoutMs, TimeUnit.MILLISECONDS)
                .writeTimeout(timeoutMs, TimeUnit.MILLISECONDS);
        if (token != null) {
            http.addInterceptor(new InfluxApi(token, version.equals("3")));
        }
        InfluxDB client = username == null
                ? InfluxDBFactory.connect(url, http)
                : InfluxDBFactory.connect(url, username, password == null ? "" : password, http);
        client.setLogLevel(InfluxDB.LogLevel.NONE);
        return client;
    }

    @Override
    public void setCamelContext(CamelContext context) {
        this.context = context;
    }

    @Override
    public CamelContext getCamelContext() {
        return context;
    }

    public void setDatabase(String database) {
        this.database = database;
    }

    public void setRetentionPolicy(String retentionPolicy) {
        this.retentionPolicy = retentionPolicy;
    }

    public void setSink(String sink) {
        this.sink = sink;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public void setVersion(String version) {
        this.version = version;
    }

    public void setToken(String token) {
        this.token = blankAsNull(token);
    }

    public void setUsername(String username) {
        this.username = blankAsNull(username);
    }

    public void setPassword(String password) {
        this.password = blankAsNull(password);
    }

    public void setKinds(String kinds) {
        this.kinds = kinds;
    }

    public void setTimeoutMs(long timeoutMs) {
        this.timeoutMs = timeoutMs;
    }

    static String blankAsNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
