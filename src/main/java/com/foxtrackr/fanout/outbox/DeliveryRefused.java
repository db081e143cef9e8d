package com.foxtrackr.fanout.outbox;

/**
 * Thrown by a sink's route (YAML: {@code throwException} with this type) when a delivery must not be retried: the
 * message goes to the sink's dead letters with this reason; in a batch, its messages are tried one by one to find
 * the one refused.
 */
public class DeliveryRefused extends RuntimeException {
    public DeliveryRefused(String reason) {
        super(reason);
    }
}
