import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java client's side of the transaction benchmark: the same 1 KiB records produced by an
 * idempotent producer (the baseline) and by a transactional one committing every TXN records,
 * one JVM, rounds interleaved after a warm-up round of each (the JIT would otherwise favour
 * whichever ran second). Each round gets its own topic with a partition per producer; with
 * several producers (threads, each its own transactional id and partition) the figure is
 * their records over the time from a common start to the last one's end.
 *
 * <p>Usage: TxnBench BOOTSTRAP PREFIX RECORDS ROUNDS TXN [--producers N]
 *
 * <p>Prints one line per measured round: "ROUND r IDEM mb_per_s TXN mb_per_s".
 */
public final class TxnBench {
    private static final int RECORD_SIZE = 1024;

    public static void main(String[] args) throws Exception {
        Cli.deadline(600);
        Cli cli = Cli.parse(args, 5, "TxnBench BOOTSTRAP PREFIX RECORDS ROUNDS TXN [--producers N]");
        String bootstrap = cli.positional.get(0);
        String prefix = cli.positional.get(1);
        int records = Integer.parseInt(cli.positional.get(2));
        int rounds = Integer.parseInt(cli.positional.get(3));
        int txn = Integer.parseInt(cli.positional.get(4));
        int producers = Integer.parseInt(cli.option("producers", "1"));
        byte[] body = new byte[RECORD_SIZE];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) ('a' + i % 26);
        }
        run(bootstrap, prefix + "-warm-idem", records, 0, producers, body);
        run(bootstrap, prefix + "-warm-txn", records, txn, producers, body);
        for (int r = 0; r < rounds; r++) {
            double idem = run(bootstrap, prefix + "-idem-" + r, records, 0, producers, body);
            double trans = run(bootstrap, prefix + "-txn-" + r, records, txn, producers, body);
            System.out.printf("ROUND %d IDEM %.1f TXN %.1f%n", r, idem, trans);
        }
    }

    /**
     * Produces `records` to a new topic of `producers` partitions, split between that many
     * producers; transactions of `txn` records unless 0. MB/s.
     */
    private static double run(
            String bootstrap, String topic, int records, int txn, int producers, byte[] body)
            throws Exception {
        Properties a = new Properties();
        a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(a)) {
            admin.createTopics(List.of(new NewTopic(topic, producers, (short) 1))).all().get();
        }
        CyclicBarrier start = new CyclicBarrier(producers + 1);
        AtomicReference<Exception> failed = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < producers; i++) {
            int partition = i;
            Thread t = new Thread(() -> {
                try {
                    produce(bootstrap, topic, partition, records / producers, txn, body, start);
                } catch (Exception e) {
                    failed.compareAndSet(null, e);
                    start.reset();
                }
            });
            t.start();
            threads.add(t);
        }
        try {
            start.await();
        } catch (BrokenBarrierException e) {
            // A producer failed before the start; its exception is thrown below.
        }
        long began = System.nanoTime();
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - began) / 1e9;
        if (failed.get() != null) {
            throw failed.get();
        }
        return (double) (records / producers) * producers * RECORD_SIZE / 1e6 / secs;
    }

    /** One producer's share: `records` to `partition`, started when all are ready. */
    private static void produce(
            String bootstrap,
            String topic,
            int partition,
            int records,
            int txn,
            byte[] body,
            CyclicBarrier start)
            throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        // Both modes send as soon as a request slot is free: a transaction flushes at commit,
        // so a linger would only be paid by the baseline's last batch.
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "1048576");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        if (txn > 0) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-" + partition);
        }
        AtomicReference<Exception> failed = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.partitionsFor(topic);
            if (txn > 0) {
                producer.initTransactions();
            }
            start.await();
            int sent = 0;
            while (sent < records) {
                int size = txn > 0 ? Math.min(txn, records - sent) : records;
                if (txn > 0) {
                    producer.beginTransaction();
                }
                for (int i = 0; i < size; i++) {
                    producer.send(new ProducerRecord<>(topic, partition, null, body), (m, e) -> {
                        if (e != null) {
                            failed.compareAndSet(null, e);
                        }
                    });
                }
                if (txn > 0) {
                    producer.commitTransaction();
                } else {
                    producer.flush();
                }
                sent += size;
            }
            if (failed.get() != null) {
                throw failed.get();
            }
        }
    }
}
