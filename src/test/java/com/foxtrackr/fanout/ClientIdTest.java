package com.foxtrackr.fanout;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vendor's client id form, id-<given>-<nn>. */
class ClientIdTest {
    @ParameterizedTest
    @ValueSource(strings = {"id-acme-01", "id-acme-02", "id-acme-corp-12", "id-a_b.c-100"})
    void should_accept_the_vendors_form(String id) {
        assertTrue(FanoutSetup.CLIENT_ID.matcher(id).matches());
    }

    @ParameterizedTest
    @ValueSource(strings = {"acme-01", "id-acme", "id-acme-1", "id--01", "ID-acme-01", "id-acme-01 ", "id-ac/me-01", "camel-123"})
    void should_refuse_anything_else(String id) {
        assertFalse(FanoutSetup.CLIENT_ID.matcher(id).matches());
    }
}
