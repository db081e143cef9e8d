package com.foxtrackr.fanout.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The folder that holds application.properties and routes/: the working directory, or the one that --config-dir
 * or FANOUT_CONFIG_DIR names. A relative fanout.data-dir and a relative route pattern are taken from it.
 */
public final class ConfigFolder {
    private static Path folder = Path.of("").toAbsolutePath();

    private ConfigFolder() {
    }

    public static void set(Path path) {
        folder = path.toAbsolutePath().normalize();
    }

    public static Path properties() {
        return folder.resolve("application.properties");
    }

    /** A path of the configuration: as it is when absolute, else in the configuration folder. */
    public static Path resolve(String path) {
        return folder.resolve(path);
    }

    /** Null when the folder holds application.properties and routes/, else a one-line reason that says what to do. */
    public static String problem() {
        String missing = !Files.isRegularFile(properties()) ? "no application.properties"
                : !Files.isDirectory(folder.resolve("routes")) ? "no routes/ folder" : null;
        return missing == null ? null : missing + " in " + folder + ", the configuration folder: start the bundle in the folder"
                + " that holds application.properties and routes/, or name it with --config-dir DIR or FANOUT_CONFIG_DIR=DIR";
    }
}
