package com.foxtrackr.fanout.source;

import java.lang.reflect.Field;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledThreadPoolExecutor;

import org.eclipse.paho.client.mqttv3.internal.CommsCallback;
import org.eclipse.paho.client.mqttv3.internal.CommsReceiver;
import org.eclipse.paho.client.mqttv3.internal.CommsSender;

/**
 * The threads of one Paho client, without Paho's 300 ms at every connect. Paho 1.2.5 starts its receiver, sender and
 * callback one after the other, each while holding that part's lock, and then sleeps 100 ms at a time until the part
 * says it runs; the new thread needs the same lock to say so, so the first look always fails and the CONNECT packet
 * leaves 300 ms late. Given a pool, Paho starts the parts through submit(): here each gets a thread of its own, and
 * submit() waits on the part's lock (which lets the new thread take it) until the part runs, at most 100 ms, so
 * Paho's first look succeeds. Connects and disconnects (execute) get a thread each, as without a pool; pings are
 * scheduled on the pool's one thread.
 */
final class PahoThreads extends ScheduledThreadPoolExecutor {
    private static final long MAX_WAIT_NANOS = 100_000_000;

    PahoThreads(String clientId) {
        super(1, task -> {
            Thread thread = new Thread(task, "MQTT Ping: " + clientId);
            thread.setDaemon(true);
            return thread;
        });
        setRemoveOnCancelPolicy(true);
    }

    @Override
    public Future<?> submit(Runnable part) {
        FutureTask<Void> future = new FutureTask<>(part, null); // Paho cancels it to interrupt the part's thread
        new Thread(future).start();
        awaitRunning(part);
        return future;
    }

    @Override
    public void execute(Runnable task) {
        new Thread(task).start();
    }

    private static void awaitRunning(Runnable part) {
        Object lock = lifecycle(part);
        if (lock == null || !Thread.holdsLock(lock)) {
            return; // not a part Paho starts under its lock: nothing to wait for
        }
        long deadline = System.nanoTime() + MAX_WAIT_NANOS;
        try {
            while (!running(part) && System.nanoTime() < deadline) {
                lock.wait(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean running(Runnable part) {
        return part instanceof CommsReceiver receiver ? receiver.isRunning()
                : part instanceof CommsSender sender ? sender.isRunning()
                : part instanceof CommsCallback callback && callback.isRunning();
    }

    /** The part's private lock, or null when this Paho has none of that name (then Paho waits as it always did). */
    private static Object lifecycle(Runnable part) {
        if (!(part instanceof CommsReceiver || part instanceof CommsSender || part instanceof CommsCallback)) {
            return null;
        }
        try {
            Field field = part.getClass().getDeclaredField("lifecycle");
            field.setAccessible(true);
            return field.get(part);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
