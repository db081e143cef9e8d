package com.foxtrackr.fanout.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the outbox forgets, at the maintenance period: repeat keys older than the repeat window, dead letters and
 * rejected input older than their retention, messages no delivery needs; and in SQLite free space beyond what the
 * next messages will soon take (PostgreSQL's autovacuum does that).
 */
final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);
    /** Free pages (SQLite's default of 4 KiB each) that maintenance leaves in the file for the next messages, and gives back at most at once. */
    private static final long KEPT_FREE_PAGES = 2_048;
    private static final long MAX_PAGES_GIVEN_BACK = 65_536;

    private final OutboxDb file;
    /** SQLite's repeat keys, rechecked after the old ones go; null for PostgreSQL. */
    private final RepeatKeys seen;
    /** The condition, besides no delivery row, for a message to go. */
    private final String messageUnneeded;
    private final long repeatWindowMs;
    private final long deadLetterRetentionMs;

    Retention(OutboxDb file, RepeatKeys seen, String messageUnneeded, long repeatWindowMs, long deadLetterRetentionMs) {
        this.file = file;
        this.seen = seen;
        this.messageUnneeded = messageUnneeded;
        this.repeatWindowMs = repeatWindowMs;
        this.deadLetterRetentionMs = deadLetterRetentionMs;
    }

    /**
     * Forgets the keys of messages seen before the repeat window, so that this memory stays bounded, and
     * removes dead letters and rejected input older than their retention, saying how many.
     */
    void maintain() throws SQLException {
        long now = System.currentTimeMillis();
        Map<String, Integer> expired = new TreeMap<>();
        int rejected = file.write(db -> {
            try (PreparedStatement forget = db.prepareStatement("DELETE FROM seen WHERE seen_ms < ?");
                 PreparedStatement expireDead = db.prepareStatement(
                         "DELETE FROM delivery WHERE state = 'dead' AND last_error_ms < ? RETURNING sink");
                 PreparedStatement orphans = db.prepareStatement(
                         "DELETE FROM message WHERE " + messageUnneeded
                                 + " NOT EXISTS (SELECT 1 FROM delivery WHERE message_id = message.id)");
                 PreparedStatement expireRejected = db.prepareStatement("DELETE FROM rejected WHERE received_ms < ?")) {
                forget.setLong(1, now - repeatWindowMs);
                forget.executeUpdate();
                expireDead.setLong(1, now - deadLetterRetentionMs);
                try (ResultSet rs = expireDead.executeQuery()) {
                    while (rs.next()) {
                        expired.merge(rs.getString(1), 1, Integer::sum);
                    }
                }
                orphans.executeUpdate();
                expireRejected.setLong(1, now - deadLetterRetentionMs);
                return expireRejected.executeUpdate();
            }
        });
        long pagesGivenBack = 0;
        if (seen != null) {
            file.write(db -> seen.recheckKeysWithoutTime());
            pagesGivenBack = file.write(this::giveBackFreePages);
        }
        expired.forEach((sink, n) -> LOG.info("sink={} event=dead-letters-expired count={}", sink, n));
        if (rejected > 0) {
            LOG.info("sink=rejected event=dead-letters-expired count={}", rejected);
        }
        if (pagesGivenBack > 0) {
            LOG.info("outbox event=space-given-back megabytes={}", pagesGivenBack * 4096 / (1 << 20));
        }
    }

    /** Within maintenance: the file shrinks by the free pages beyond what the next messages will soon take. */
    private long giveBackFreePages(Connection db) throws SQLException {
        try (Statement s = db.createStatement()) {
            long free;
            try (ResultSet rs = s.executeQuery("PRAGMA freelist_count")) {
                free = rs.next() ? rs.getLong(1) : 0;
            }
            if (free <= KEPT_FREE_PAGES) {
                return 0;
            }
            // each step of this pragma gives back one page, and the driver runs one step per call
            long pages = Math.min(free - KEPT_FREE_PAGES, MAX_PAGES_GIVEN_BACK);
            try (PreparedStatement givePage = db.prepareStatement("PRAGMA incremental_vacuum")) {
                for (long page = 0; page < pages; page++) {
                    givePage.execute();
                }
            }
            return pages;
        }
    }
}
