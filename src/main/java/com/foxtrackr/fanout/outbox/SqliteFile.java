package com.foxtrackr.fanout.outbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static com.foxtrackr.fanout.outbox.SqliteSchema.WITHOUT_GENERATED_KEYS;

/**
 * The outbox file as its parts share it: one connection that writes, one transaction at a time under a fair lock
 * (ingest's back-to-back group commits would otherwise keep the sinks from recording their deliveries), and one
 * that reads (in WAL mode a read never waits for a write, so a sink's long read does not hold back ingest).
 */
final class SqliteFile implements OutboxDb {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

    private final Connection db;
    private final Connection readDb;
    private final ReentrantLock writing = new ReentrantLock(true);
    /** What the current transaction changes in memory once it is committed; guarded by the write lock. */
    private final List<Runnable> afterCommit = new ArrayList<>();

    private SqliteFile(Connection db, Connection readDb) {
        this.db = db;
        this.readDb = readDb;
    }

    /** The running bundle's outbox: made or migrated, with two connections. */
    static SqliteFile open(Path file, String synchronous) throws SQLException {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (java.io.IOException e) {
            throw new SQLException("cannot create the directory of " + file + ": " + e.getMessage(), e);
        }
        Connection db = DriverManager.getConnection("jdbc:sqlite:" + file, WITHOUT_GENERATED_KEYS);
        SqliteSchema.create(db, synchronous);
        db.setAutoCommit(false);
        return new SqliteFile(db, reader(file));
    }

    /** An outbox that exists, for a command beside the bundle (running or not), which waits for the bundle's writes. */
    static SqliteFile existing(Path file) throws SQLException {
        if (!Files.exists(file)) {
            throw new SQLException("no outbox at " + file.toAbsolutePath() + " (set fanout.data-dir)");
        }
        Connection db = reader(file);
        db.setAutoCommit(false);
        return new SqliteFile(db, reader(file));
    }

    private static Connection reader(Path file) throws SQLException {
        Connection readDb = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = readDb.createStatement()) {
            s.execute("PRAGMA busy_timeout=10000");
        }
        return readDb;
    }

    /** A read, on the read connection, one at a time. */
    @Override
    public <T> T read(Work<T> work) throws SQLException {
        synchronized (readDb) {
            return work.run(readDb);
        }
    }

    /**
     * One transaction on the write connection, holding the write lock: committed, or rolled back if it fails.
     * What the work gave to {@link #afterCommit} runs once it is committed, still under the lock.
     */
    @Override
    public <T> T write(Work<T> work) throws SQLException {
        writing.lock();
        try {
            T result = work.run(db);
            db.commit();
            afterCommit.forEach(Runnable::run);
            return result;
        } catch (SQLException | RuntimeException e) {
            rollback();
            throw e;
        } finally {
            afterCommit.clear();
            writing.unlock();
        }
    }

    @Override
    public void afterCommit(Runnable change) {
        afterCommit.add(change);
    }

    private void rollback() {
        try {
            db.rollback();
        } catch (SQLException e) {
            LOG.warn("outbox rollback failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() throws SQLException {
        writing.lock();
        try {
            readDb.close();
            db.close();
        } finally {
            writing.unlock();
        }
    }
}
