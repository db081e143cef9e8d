package com.foxtrackr.fanout.config;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.apache.camel.CamelContext;

/** Typed, validated access to properties (application.properties, overridden by the environment). */
public class Settings {
    private final CamelContext context;

    public Settings(CamelContext context) {
        this.context = context;
    }

    public Optional<String> optional(String key) {
        return context.getPropertiesComponent().resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty());
    }

    public String text(String key) {
        return optional(key).orElseThrow(() -> new ConfigException(key, "is required but not set"));
    }

    public String text(String key, String defaultValue) {
        return optional(key).orElse(defaultValue);
    }

    public List<String> list(String key) {
        return Arrays.stream(text(key, "").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public long number(String key, long defaultValue, long min, long max) {
        Optional<String> value = optional(key);
        if (value.isEmpty()) {
            return defaultValue;
        }
        long n;
        try {
            n = Long.parseLong(value.get());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "must be a whole number, not '" + value.get() + "'");
        }
        if (n < min || n > max) {
            throw new ConfigException(key, "must be between " + min + " and " + max + ", not " + n);
        }
        return n;
    }

    double decimal(String key, double defaultValue, double min, double max) {
        Optional<String> value = optional(key);
        if (value.isEmpty()) {
            return defaultValue;
        }
        double d;
        try {
            d = Double.parseDouble(value.get());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "must be a number, not '" + value.get() + "'");
        }
        if (!(d >= min && d <= max)) {
            throw new ConfigException(key, "must be between " + min + " and " + max + ", not " + d);
        }
        return d;
    }
}
