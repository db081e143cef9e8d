package com.foxtrackr.fanout.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.foxtrackr.fanout.ingest.MessageValidator;

/**
 * {@code java -jar foxtrackr-fanout.jar check}: reads the configuration as a start would (a mistake stops it
 * with the property's name), then tries every connection once, the broker with a probe of its own that
 * never touches the sources' sessions, and prints what works and what does not, with the property to fix.
 */
public final class CheckCommand {
    /** One connection to try: what it is, the properties that configure it, and the probe (its detail, or an exception). */
    public record Probe(String what, String property, Callable<String> probe) {
    }

    /** Ends a check run before any route starts; carries the exit code. */
    public static final class Done extends RuntimeException {
        public final int exitCode;

        public Done(int exitCode) {
            super(null, null, false, false);
            this.exitCode = exitCode;
        }
    }

    private CheckCommand() {
    }

    /** Runs each probe and prints one line per probe; the exit code is 0 when all work, 1 otherwise. */
    public static int run(List<Probe> probes, PrintStream out) {
        List<String[]> rows = new ArrayList<>();
        boolean allOk = true;
        for (Probe probe : probes) {
            String result;
            String detail;
            try {
                detail = probe.probe().call();
                result = "ok";
            } catch (Exception e) {
                detail = MessageValidator.reason(e);
                result = "FAIL";
                allOk = false;
            }
            rows.add(new String[] {probe.what(), result, result.equals("ok") ? "" : probe.property(), detail});
        }
        int[] width = {4, 6, 6};
        for (String[] row : rows) {
            for (int i = 0; i < 3; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        String format = "%-" + width[0] + "s  %-" + width[1] + "s  %-" + width[2] + "s  %s%n";
        out.printf(format, "WHAT", "RESULT", "TO FIX", "DETAIL");
        rows.forEach(row -> out.printf(format, (Object[]) row));
        out.println(allOk ? "everything works" : "something does not work: see TO FIX");
        return allOk ? 0 : 1;
    }
}
