package com.foxtrackr.fanout;

import org.apache.camel.main.Main;

/** Runs the fan-out: ./application.properties and ./routes/*.yaml, with the environment overriding any property. */
public class App {
    public static void main(String[] args) throws Exception {
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        main.addMainListener(new FanoutSetup());
        main.run(args);
        System.exit(main.getExitCode());
    }
}
