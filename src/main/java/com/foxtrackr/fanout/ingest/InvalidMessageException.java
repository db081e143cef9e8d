package com.foxtrackr.fanout.ingest;

/** A payload that is not valid FoxTrackr input; the message is the reason kept with its dead letter. */
public class InvalidMessageException extends Exception {
    public InvalidMessageException(String reason) {
        super(reason);
    }
}
