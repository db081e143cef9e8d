package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * A PostgreSQL outbox's connections: a small pool (HikariCP), each write one transaction on a connection of its
 * own, so that ingest and the sinks write side by side; the database orders what they share with row locks.
 * A transaction that PostgreSQL ends for a deadlock or a serialization failure is run again.
 */
final class PostgresDb implements OutboxDb {
    private static final int ATTEMPTS = 3;

    private final HikariDataSource pool;
    /** What the current thread's transaction changes in memory once it is committed. */
    private final ThreadLocal<List<Runnable>> afterCommit = ThreadLocal.withInitial(ArrayList::new);

    PostgresDb(String url, String user, String password, int connections) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        // named: in the one-jar build the drivers' META-INF/services files overwrite each other, and SQLite's wins
        config.setDriverClassName("org.postgresql.Driver");
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(connections);
        config.setPoolName("outbox");
        config.setAutoCommit(false);
        // a pool that cannot connect at start-up fails the start with PostgreSQL's reason
        config.setInitializationFailTimeout(10_000);
        config.setConnectionTimeout(10_000);
        pool = new HikariDataSource(config);
    }

    @Override
    public <T> T read(Work<T> work) throws SQLException {
        try (Connection db = pool.getConnection()) {
            try {
                return work.run(db);
            } finally {
                db.rollback();
            }
        }
    }

    @Override
    public <T> T write(Work<T> work) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try (Connection db = pool.getConnection()) {
                try {
                    T result = work.run(db);
                    db.commit();
                    afterCommit.get().forEach(Runnable::run);
                    return result;
                } catch (SQLException | RuntimeException e) {
                    db.rollback();
                    if (attempt < ATTEMPTS && e instanceof SQLException sql && retryable(sql)) {
                        continue;
                    }
                    throw e;
                } finally {
                    afterCommit.get().clear();
                }
            }
        }
    }

    /** Deadlock detected, serialization failure: the transaction may simply be run again. */
    private static boolean retryable(SQLException e) {
        return "40P01".equals(e.getSQLState()) || "40001".equals(e.getSQLState());
    }

    @Override
    public void afterCommit(Runnable change) {
        afterCommit.get().add(change);
    }

    @Override
    public void close() {
        pool.close();
    }
}
