package com.foxtrackr.fanout.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A Mosquitto and an InfluxDB (with the database foxtrackr), started on free ports for each test and stopped after it. */
abstract class WithBrokerAndInflux {
    Mosquitto broker;
    Influx influx;

    @BeforeEach
    void startBrokerAndInflux() {
        broker = new Mosquitto().start();
        influx = new Influx().start().createDatabase("foxtrackr");
    }

    @AfterEach
    void stopBrokerAndInflux() {
        broker.close();
        influx.close();
    }
}
