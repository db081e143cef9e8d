package com.foxtrackr.fanout.sinks;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import com.foxtrackr.fanout.config.ConfigException;

/**
 * A partner (a bean of sink-http.yaml): its URL, its own headers ("Name: value; Name2: value2") and bearer token,
 * checked at start-up so that nothing can break a header line; as a step, it sets the headers on each call.
 */
public class Partner implements Processor {
    private String sink;
    private String url;
    private String headers;
    private String bearerToken;
    private Map<String, String> parsed = Map.of();

    public void setSink(String sink) {
        this.sink = sink;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public void setHeaders(String headers) {
        this.headers = InfluxConnection.blankAsNull(headers);
    }

    public void setBearerToken(String bearerToken) {
        this.bearerToken = InfluxConnection.blankAsNull(bearerToken);
    }

    public void check() {
        String prefix = "fanout.sink." + sink + ".";
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(prefix + "url", "is not a URL: " + e.getMessage());
        }
        if (!List.of("http", "https").contains(String.valueOf(uri.getScheme()).toLowerCase()) || uri.getHost() == null) {
            throw new ConfigException(prefix + "url", "must be an http:// or https:// URL with a host");
        }
        parsed = Map.copyOf(parse(prefix, headers, bearerToken));
    }

    public Map<String, String> headers() {
        return parsed;
    }

    @Override
    public void process(Exchange exchange) {
        parsed.forEach(exchange.getMessage()::setHeader);
    }

    static Map<String, String> parse(String prefix, String list, String bearerToken) {
        Map<String, String> result = new LinkedHashMap<>();
        if (list != null) {
            for (String header : list.split(";")) {
                if (header.isBlank()) {
                    continue;
                }
                int colon = header.indexOf(':');
                String name = colon < 0 ? "" : header.substring(0, colon).trim();
                if (!name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
                    throw new ConfigException(prefix + "headers", "has '" + header.trim() + "': write Name: value; Name2: value2");
                }
                result.put(name, checkValue(prefix + "headers", header.substring(colon + 1).trim()));
            }
        }
        if (bearerToken != null) {
            result.put("Authorization", "Bearer " + checkValue(prefix + "bearer-token", bearerToken));
        }
        return result;
    }

    private static String checkValue(String property, String value) {
        if (value.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f)) {
            throw new ConfigException(property, "contains a control character, which would break the HTTP header");
        }
        return value;
    }
}
