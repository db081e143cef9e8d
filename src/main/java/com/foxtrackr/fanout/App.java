package com.foxtrackr.fanout;

import org.apache.camel.main.Main;

/** Runs the fan-out: ./application.properties and ./routes/*.yaml, with the environment overriding any property. */
public class App {
    public static void main(String[] args) throws Exception {
        Secrets.fromEnvironment(System.getenv());
        if (args.length > 0 && args[0].equals("dlq")) {
            System.exit(DeadLetterCommand.run(args, System.out, System.err));
        }
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        main.addMainListener(new FanoutSetup());
        try {
            main.run(args);
        } catch (Exception e) {
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof ConfigException) {
                    // An operator's mistake: the message says what to fix, a stack trace would only hide it.
                    System.err.println("ERROR " + cause.getMessage());
                    System.exit(2);
                }
            }
            throw e;
        }
        System.exit(main.getExitCode());
    }
}
