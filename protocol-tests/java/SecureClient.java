import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client over PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL: the contract in
 * protocol-tests/python/secure_common.py (roundtrip and badauth). TLS material is PEM, as
 * KIP-651 lets the Java client read it.
 */
public final class SecureClient {
    static final int COUNT = 5;

    public static void main(String[] args) throws Exception {
        Cli.deadline(60);
        if (args.length != 10) {
            Cli.fail("usage: SecureClient roundtrip|badauth BOOTSTRAP TOPIC PROTOCOL MECHANISM USER PASSWORD CA CERT KEY");
        }
        String topic = args[2];
        Properties props = config(args);
        if (args[0].equals("badauth")) {
            badauth(props, topic);
        } else {
            roundtrip(props, topic);
        }
    }

    static String opt(String v) {
        return v.equals("-") ? null : v;
    }

    static Properties config(String[] a) throws Exception {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, a[1]);
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, a[3]);
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        if (a[3].startsWith("SASL_")) {
            String module = a[4].equals("PLAIN")
                    ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                    : "org.apache.kafka.common.security.scram.ScramLoginModule";
            p.put(SaslConfigs.SASL_MECHANISM, a[4]);
            p.put(SaslConfigs.SASL_JAAS_CONFIG,
                    module + " required username=\"" + a[5] + "\" password=\"" + a[6] + "\";");
        }
        if (opt(a[7]) != null) {
            p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, a[7]);
        }
        if (opt(a[8]) != null) {
            p.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
            p.put(SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG, Files.readString(Path.of(a[8])));
            p.put(SslConfigs.SSL_KEYSTORE_KEY_CONFIG, Files.readString(Path.of(a[9])));
        }
        return p;
    }

    static void roundtrip(Properties base, String topic) throws Exception {
        Properties pp = new Properties();
        pp.putAll(base);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < COUNT; i++) {
                acks.add(producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)));
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(30, TimeUnit.SECONDS);
            }
        }
        System.out.println("ACKED " + COUNT);
        Properties cp = new Properties();
        cp.putAll(base);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (values.size() < COUNT) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    values.add(r.value());
                }
            }
        }
        for (int i = 0; i < COUNT; i++) {
            if (!values.get(i).equals("v" + i)) {
                Cli.fail("read back " + values);
            }
        }
        System.out.println("READ " + values.size() + " " + values.get(0) + " " + values.get(COUNT - 1));
    }

    static void badauth(Properties base, String topic) throws Exception {
        Properties pp = new Properties();
        pp.putAll(base);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            producer.send(new ProducerRecord<>(topic, "never")).get(10, TimeUnit.SECONDS);
        } catch (AuthenticationException e) {
            report(e);
            return;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthenticationException) {
                report(e.getCause());
                return;
            }
            throw e;
        }
        Cli.fail("produced with wrong credentials");
    }

    static void report(Throwable e) {
        System.out.println("AUTHFAILED " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
}
