package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.SQLException;

/** The database an outbox keeps its tables in, as its parts share it: reads, and writes each in one transaction. */
interface OutboxDb extends AutoCloseable {

    /** What runs on one of the database's connections. */
    interface Work<T> {
        T run(Connection db) throws SQLException;
    }

    /** A read, outside any write's transaction. */
    <T> T read(Work<T> work) throws SQLException;

    /** One transaction: committed, or rolled back if the work fails. */
    <T> T write(Work<T> work) throws SQLException;

    /** Within a write: what becomes true in memory once its transaction is committed. */
    void afterCommit(Runnable change);

    @Override
    void close() throws SQLException;
}
