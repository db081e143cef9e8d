package com.foxtrackr.fanout.config;

/** A configuration mistake: the message names the property and says what is wrong. */
public class ConfigException extends RuntimeException {
    public ConfigException(String property, String problem) {
        super("Configuration error: " + property + " " + problem);
    }
}
