package com.foxtrackr.fanout.it;

/** FoxTrackr-shaped payloads; every (device, time) pair a caller passes makes a distinct point. */
final class Messages {
    static final long T0 = 1_764_000_000_000L;

    private Messages() {
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
