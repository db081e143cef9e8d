package com.foxtrackr.fanout.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.foxtrackr.fanout.it.Postgres;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Two instances' cluster services on one real PostgreSQL: one holds a source at a time; when the holder's
 * connection is cut it gives the source up at its next check, and the source is held again within the interval (by
 * either: the cut-off instance tries again too); a stopped holder frees it at once for the other.
 */
class PostgresClusterServiceTest {
    static final long INTERVAL_MS = 500;
    static Postgres postgres;

    @BeforeAll
    static void startPostgres() {
        postgres = new Postgres().start();
    }

    @AfterAll
    static void stopPostgres() {
        postgres.close();
    }

    static PostgresClusterService instance(String name) throws Exception {
        PostgresClusterService service = new PostgresClusterService(name, postgres.url(), Postgres.USER, Postgres.PASSWORD, INTERVAL_MS);
        service.setCamelContext(new DefaultCamelContext());
        service.start();
        return service;
    }

    @Test
    void should_let_one_instance_hold_a_source_and_another_take_it_when_the_first_is_cut_off() throws Exception {
        PostgresClusterService a = instance("a");
        List<String> eventsOfA = new CopyOnWriteArrayList<>();
        a.getView("fleet").addEventListener((CamelClusterEventListener.Leadership) (view, leader) ->
                eventsOfA.add(leader != null ? "taken" : "given-up"));
        await().atMost(Duration.ofSeconds(10)).until(() -> a.isLeader("fleet"));
        PostgresClusterService b = instance("b");
        b.getView("fleet");
        // another source is another lock
        b.getView("north");
        await().atMost(Duration.ofSeconds(10)).until(() -> b.isLeader("north"));
        await().during(Duration.ofMillis(4 * INTERVAL_MS)).atMost(Duration.ofSeconds(10)).until(() -> !b.isLeader("fleet"));

        // as PostgreSQL sees an instance killed: its connections end
        try (Connection db = postgres.connect();
             ResultSet rs = db.createStatement().executeQuery(
                     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'foxtrackr-fanout a'")) {
            rs.next();
            assertEquals(1, rs.getLong(1));
        }
        // the listener hears the leadership as it was when it was added, then each change
        await().atMost(Duration.ofSeconds(10)).until(() -> eventsOfA.lastIndexOf("given-up") > eventsOfA.indexOf("taken"));
        await().atMost(Duration.ofSeconds(10)).until(() -> a.isLeader("fleet") || b.isLeader("fleet"));
        assertFalse(a.isLeader("fleet") && b.isLeader("fleet"), "never two holders");

        // a stopped holder frees the source at once; the other instance, still trying, takes it
        PostgresClusterService holder = a.isLeader("fleet") ? a : b;
        PostgresClusterService other = holder == a ? b : a;
        holder.stop();
        await().atMost(Duration.ofSeconds(10)).until(() -> other.isLeader("fleet"));
        other.stop();
    }
}
