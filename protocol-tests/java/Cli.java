import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared plumbing for the Java test programs: argument parsing, a hard deadline, and failing
 * loudly. Every program prints machine-checkable lines on stdout and exits non-zero on failure.
 */
final class Cli {
    final List<String> positional = new ArrayList<>();
    final Map<String, List<String>> options = new HashMap<>();

    private Cli() {}

    /** Parses `pos... [--name value]...`; exits with usage if fewer than `needed` positionals. */
    static Cli parse(String[] args, int needed, String usage) {
        Cli cli = new Cli();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) {
                    fail("option " + args[i] + " needs a value; usage: " + usage);
                }
                cli.options.computeIfAbsent(args[i].substring(2), k -> new ArrayList<>()).add(args[++i]);
            } else {
                cli.positional.add(args[i]);
            }
        }
        if (cli.positional.size() < needed) {
            fail("usage: " + usage);
        }
        return cli;
    }

    String option(String name, String dflt) {
        List<String> values = options.get(name);
        return values == null ? dflt : values.get(values.size() - 1);
    }

    List<String> all(String name) {
        return options.getOrDefault(name, List.of());
    }

    /** Kills the JVM if the program is still running after `seconds`: never hang a test. */
    static void deadline(int seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            System.out.flush();
            System.err.println("FAIL: still running after the " + seconds + " s deadline");
            Runtime.getRuntime().halt(3);
        }, "deadline");
        t.setDaemon(true);
        t.start();
    }

    static void fail(String message) {
        System.out.flush();
        System.err.println("FAIL: " + message);
        System.exit(1);
    }

    /** A value of about `size` bytes that compresses well, tagged with its index. */
    static String value(int i, int size) {
        StringBuilder sb = new StringBuilder("value-" + i);
        while (sb.length() < size) {
            sb.append("-weir");
        }
        return sb.toString();
    }
}
