package com.foxtrackr.fanout.it;

/** FoxTrackr-shaped payloads; every (device, time) pair a caller passes makes a distinct point. */
final class Messages {
    static final long T0 = 1_764_000_000_000L;

    private Messages() {
    }

    /** n messages a second apart from T0, batteries and temperatures in turn, from the given number of devices. */
    static java.util.List<String> alternating(int n, int devices) {
        java.util.List<String> messages = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long time = T0 + i * 1000L;
            String device = "dev-" + (i % devices);
            messages.add(i % 2 == 0 ? battery(device, time, i % 100) : temperature(device, time, 20.5));
        }
        return messages;
    }

    static String battery(String deviceId, long timeMs, int level) {
        return "{\"messageType\":1,\"deviceId\":" + quote(deviceId) + ",\"version\":3,\"timeMs\":" + timeMs
                + ",\"battery\":{\"level\":" + level + ",\"voltage\":3.7,\"charging\":false}}";
    }

    static String temperature(String deviceId, long timeMs, double value) {
        return "{\"messageType\":2,\"deviceId\":" + quote(deviceId) + ",\"version\":3,\"timeMs\":" + timeMs
                + ",\"temperature\":{\"value\":" + value + "}}";
    }

    static String position(String deviceId, long timeMs) {
        return "{\"messageType\":7,\"deviceId\":" + quote(deviceId) + ",\"version\":3,\"timeMs\":" + timeMs
                + ",\"position\":{\"lat\":48.85,\"lon\":2.35}}";
    }

    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
