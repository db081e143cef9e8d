package com.foxtrackr.fanout.it;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;

/** Helpers shared by the services the tests start: free ports, binaries, processes, temporary folders. */
final class Services {
    private Services() {
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The path of a binary, or a failure that says how to install it: a missing service fails, never skips. */
    static String binary(String name, String debianPackage) {
        for (String dir : (System.getenv("PATH") + ":/usr/sbin:/usr/local/sbin").split(":")) {
            File candidate = new File(dir, name);
            if (candidate.canExecute()) {
                return candidate.getPath();
            }
        }
        throw new IllegalStateException(name + " is not installed: apt-get install " + debianPackage
                + " (the README's test command does this)");
    }

    static Process start(List<String> command, Path workDir, Path log) {
        try {
            return new ProcessBuilder(command).directory(workDir.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command + ": " + e.getMessage(), e);
        }
    }

    static void awaitListening(int port, Process process, Path log) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("process exited with " + process.exitValue() + ":\n" + Files.readString(log));
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    static void stop(Process process) {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** CPU time (user and system) a process has used so far, from /proc: what it costs its machine. */
    static long cpuMs(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // the fields after the command's name, which is in parentheses and may hold spaces
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            return ticks * 1000 / CLOCK_TICKS_PER_SECOND;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CPU time of process " + pid + ": " + e.getMessage(), e);
        }
    }

    /** CPU time so far of this JVM's threads whose names match: a server or client the test runs in-process. */
    static long threadCpuMs(java.util.function.Predicate<String> name) {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        return Thread.getAllStackTraces().keySet().stream().filter(t -> name.test(t.getName()))
                .mapToLong(t -> Math.max(0, threads.getThreadCpuTime(t.getId()))).sum() / 1_000_000;
    }

    /** Linux's USER_HZ, the unit of /proc's CPU times, is 100 on every architecture the JDK runs on. */
    private static final long CLOCK_TICKS_PER_SECOND = 100;

    static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
