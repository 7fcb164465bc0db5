import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * weir as a Kafka test double in a JUnit-style test class (a plain program here: the test
 * methods, @BeforeAll, @BeforeEach and @AfterAll are called by main).
 *
 * <p>Usage: WeirTestDoubleExample PATH_TO_WEIR
 */
public final class WeirTestDoubleExample {
    /** A running `weir serve --control`: its addresses and its control API. */
    static final class Weir implements AutoCloseable {
        final Process process;
        final String bootstrap;
        final String admin;
        final HttpClient http = HttpClient.newHttpClient();

        Weir(String binary) throws Exception {
            Path ready = Files.createTempDirectory("weir").resolve("ready.json");
            process = new ProcessBuilder(binary, "serve", "--ephemeral", "--control",
                    "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                    "--ready-file", ready.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(ready)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("weir did not start");
                }
                Thread.sleep(10);
            }
            String line = Files.readString(ready);
            bootstrap = field(line, "kafka");
            admin = "http://" + field(line, "admin");
        }

        String call(String method, String path, String json) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create(admin + path))
                    .header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(json))
                    .build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException(path + ": " + response.body());
            }
            return response.body();
        }

        void reset() throws Exception {
            call("POST", "/reset", "");
        }

        @Override
        public void close() {
            process.destroy();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        static String field(String json, String name) {
            Matcher m = Pattern.compile("\"" + name + "\":\"?([^\",}]*)").matcher(json);
            if (!m.find()) {
                throw new IllegalStateException("no " + name + " in " + json);
            }
            return m.group(1);
        }
    }

    static Weir weir;

    // @BeforeAll
    static void startWeir(String binary) throws Exception {
        weir = new Weir(binary);
    }

    // @BeforeEach: every test starts from an empty broker.
    static void resetWeir() throws Exception {
        weir.reset();
    }

    static KafkaProducer<String, String> producer() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, weir.bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "50");
        return new KafkaProducer<>(props);
    }

    // @Test
    static void theProducerRetriesThroughNotLeader() throws Exception {
        weir.call("POST", "/faults",
                "{\"api\":\"Produce\",\"topic\":\"payments\",\"error\":\"NOT_LEADER_OR_FOLLOWER\",\"times\":2}");
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>("payments", "p-1")).get(30, TimeUnit.SECONDS);
        }
        check(weir.call("GET", "/faults", "").contains("\"fired\":2"), "the rule fired twice");
    }

    // @Test
    static void latencyShowsInTheSendTime() throws Exception {
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>("payments", "warm-up")).get(30, TimeUnit.SECONDS);
            weir.call("POST", "/faults", "{\"api\":\"Produce\",\"latency_ms\":300,\"times\":1}");
            long start = System.nanoTime();
            producer.send(new ProducerRecord<>("payments", "p-2")).get(30, TimeUnit.SECONDS);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            check(tookMs >= 300, "send took " + tookMs + " ms");
        }
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    interface TestMethod {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        startWeir(args[0]);
        int passed = 0;
        int failed = 0;
        TestMethod[] tests = {
            WeirTestDoubleExample::theProducerRetriesThroughNotLeader,
            WeirTestDoubleExample::latencyShowsInTheSendTime,
        };
        try {
            for (TestMethod test : tests) {
                try {
                    resetWeir();
                    test.run();
                    passed++;
                } catch (Exception | AssertionError e) {
                    failed++;
                    e.printStackTrace();
                }
            }
        } finally {
            weir.close(); // @AfterAll
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
