package com.foxtrackr.fanout.source;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.camel.RuntimeCamelException;
import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.support.cluster.AbstractCamelClusterService;
import org.apache.camel.support.cluster.AbstractCamelClusterView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Camel's cluster service on PostgreSQL alone, for the master: component: the leader of a namespace (a source) is
 * the instance that holds a session-level advisory lock on its key. PostgreSQL releases the lock when the holder's
 * connection ends, so a killed instance frees its sources at once; a holder whose host vanishes or whose process
 * hangs is ended by PostgreSQL itself (TCP keepalives, idle_session_timeout) about 11 s after its last check, with
 * the default interval. The holder checks its connection at every interval and
 * gives the source up as soon as it cannot: before PostgreSQL can let another instance take it.
 */
public final class PostgresClusterService extends AbstractCamelClusterService<PostgresClusterService.View> {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresClusterService.class);
    private static final String APPLICATION = "foxtrackr-fanout";

    private final String url;
    private final Properties credentials = new Properties();
    private final long intervalMs;
    private ScheduledExecutorService checks;
    /** Told, at every check, which instance holds a source (null: none that could be seen). */
    private final Map<String, Consumer<String>> holderListeners = new ConcurrentHashMap<>();

    /** {@code instance} names this instance in the log and in PostgreSQL (application_name of its lock connections). */
    public PostgresClusterService(String instance, String url, String user, String password, long intervalMs) {
        super(instance);
        this.url = url;
        this.intervalMs = intervalMs;
        credentials.setProperty("user", user);
        credentials.setProperty("password", password);
        credentials.setProperty("ApplicationName", APPLICATION + " " + instance);
        // A holder that cannot reach PostgreSQL gives its sources up after at most an interval and a socket
        // timeout; PostgreSQL releases the lock of a holder it has not heard from 3 s later than that (by the
        // keepalives when its host vanished, by idle_session_timeout when it hangs), so the holder stops before
        // another instance can take the source. The timeout is generous: a busy machine's slow answer should
        // not hand the source over.
        long socketTimeoutS = Math.max(1, 3 * intervalMs / 1000);
        silentS = (intervalMs + 999) / 1000 + socketTimeoutS + 3;
        keepalivesIdleS = Math.max(1, silentS - KEEPALIVES_INTERVAL_S * KEEPALIVES_COUNT);
        credentials.setProperty("connectTimeout", String.valueOf(Math.max(1, intervalMs / 1000)));
        credentials.setProperty("socketTimeout", String.valueOf(socketTimeoutS));
        credentials.setProperty("tcpKeepAlive", "true");
    }

    private static final int KEEPALIVES_INTERVAL_S = 2;
    private static final int KEEPALIVES_COUNT = 3;
    /** How long after its last check a silent holder's lock is released: 11 s with the default interval of 2 s. */
    private final long silentS;
    private final long keepalivesIdleS;

    @Override
    protected void doStart() throws Exception {
        checks = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "source-lock");
            thread.setDaemon(true);
            return thread;
        });
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        checks.shutdownNow();
    }

    /**
     * Keeps the source's state for health, metrics and the status page: standing by until this instance takes the
     * source, which instance holds it (told at every check), and how often this one took it.
     */
    public void report(String source, SourceState state) {
        state.standby = true;
        holderListeners.put(source, holder -> state.heldBy = holder);
        try {
            getView(source).addEventListener((CamelClusterEventListener.Leadership) (view, leader) -> {
                boolean taken = view.getLocalMember().isLeader();
                if (taken && state.standby) {
                    state.taken.incrementAndGet();
                }
                state.standby = !taken;
            });
        } catch (Exception e) {
            throw RuntimeCamelException.wrapRuntimeException(e);
        }
    }

    @Override
    protected View createView(String namespace) {
        return new View(this, namespace);
    }

    /** The lock's key: the first 64 bits of the namespace's SHA-256, the same in every instance. */
    static long key(String namespace) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(("foxtrackr-fanout source " + namespace).getBytes(StandardCharsets.UTF_8));
            long key = 0;
            for (int i = 0; i < 8; i++) {
                key = key << 8 | digest[i] & 0xff;
            }
            return key;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One source's leadership: tried, then held, at every interval. */
    public static final class View extends AbstractCamelClusterView {
        private final PostgresClusterService service;
        private final long key;
        private final Member local = new Member();
        private Connection lock;
        private volatile boolean leader;
        private ScheduledFuture<?> task;

        View(PostgresClusterService service, String namespace) {
            super(service, namespace);
            this.service = service;
            this.key = key(namespace);
        }

        @Override
        public Optional<CamelClusterMember> getLeader() {
            return leader ? Optional.of(local) : Optional.empty();
        }

        @Override
        public CamelClusterMember getLocalMember() {
            return local;
        }

        @Override
        public List<CamelClusterMember> getMembers() {
            return List.of(local);
        }

        @Override
        protected void doStart() {
            task = service.checks.scheduleWithFixedDelay(this::check, 0, service.intervalMs, TimeUnit.MILLISECONDS);
        }

        @Override
        protected void doStop() {
            if (task != null) {
                task.cancel(false);
            }
            synchronized (this) {
                giveUp(null);
            }
        }

        private synchronized void check() {
            try {
                if (lock == null) {
                    // the driver itself: in the one-jar build DriverManager finds only SQLite's
                    lock = new org.postgresql.Driver().connect(service.url, service.credentials);
                    try (Statement s = lock.createStatement()) {
                        // a holder whose host vanished is noticed, and its lock released, after these keepalives
                        s.execute("SET tcp_keepalives_idle = " + service.keepalivesIdleS + "; SET tcp_keepalives_interval = "
                                + KEEPALIVES_INTERVAL_S + "; SET tcp_keepalives_count = " + KEEPALIVES_COUNT);
                    }
                    try (Statement s = lock.createStatement()) {
                        // a holder that stops checking (a hung process, a long pause) is ended by PostgreSQL itself
                        s.execute("SET idle_session_timeout = " + service.silentS * 1000);
                    } catch (SQLException e) {
                        if (!"42704".equals(e.getSQLState())) {
                            throw e;
                        } // before PostgreSQL 14, which does not have it: a hung holder keeps the source
                    }
                }
                if (!leader) {
                    try (PreparedStatement take = lock.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                        take.setLong(1, key);
                        try (ResultSet rs = take.executeQuery()) {
                            rs.next();
                            if (rs.getBoolean(1)) {
                                leader = true;
                                LOG.info("source={} event=taken instance={}", getNamespace(), service.getId());
                                fireLeadershipChangedEvent(local);
                            }
                        }
                    }
                }
                // also proves, for the holder, that its connection (and so its lock) is still there
                tell(holder());
            } catch (SQLException | RuntimeException e) {
                giveUp(e);
                tell(null);
            }
        }

        /** The instance whose connection holds the lock, by the name it gave PostgreSQL. */
        private String holder() throws SQLException {
            try (PreparedStatement q = lock.prepareStatement("""
                    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                      AND l.classid::bigint = ? AND l.objid::bigint = ?""")) {
                q.setLong(1, key >>> 32);
                q.setLong(2, key & 0xffffffffL);
                try (ResultSet rs = q.executeQuery()) {
                    return rs.next() ? rs.getString(1).replaceFirst("^" + APPLICATION + " ", "") : null;
                }
            }
        }

        private void tell(String holder) {
            var listener = service.holderListeners.get(getNamespace());
            if (listener != null) {
                listener.accept(holder);
            }
        }

        /**
         * Ends the leadership, if held, and then the lock's connection (PostgreSQL releases the lock with it): the
         * source's consumer is stopped before another instance can take the source.
         */
        private void giveUp(Exception why) {
            if (leader) {
                leader = false;
                LOG.warn("source={} event=given-up instance={} reason=\"{}\"", getNamespace(), service.getId(),
                        why == null ? "stopping" : why.getMessage());
                fireLeadershipChangedEvent(Optional.empty());
            }
            if (lock != null) {
                try {
                    lock.close();
                } catch (SQLException ignored) {
                    // the connection is gone either way
                }
                lock = null;
            }
        }

        private final class Member implements CamelClusterMember {
            @Override
            public boolean isLeader() {
                return leader;
            }

            @Override
            public boolean isLocal() {
                return true;
            }

            @Override
            public String getId() {
                return service.getId();
            }
        }
    }
}
