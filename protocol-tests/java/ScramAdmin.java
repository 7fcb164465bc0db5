import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.UnacceptableCredentialException;

/**
 * SCRAM users through the Java AdminClient: upsert USER with SCRAM-SHA-512 (8192 iterations) and
 * SCRAM-SHA-256 (4096) and PASSWORD, describe them ("CRED user mechanism iterations" lines),
 * refuse too few iterations and the deletion of a credential that does not exist, delete the
 * SCRAM-SHA-256 one again. Prints "OK" at the end.
 *
 * <p>Usage: ScramAdmin BOOTSTRAP USER PASSWORD
 */
public final class ScramAdmin {
    public static void main(String[] args) throws Exception {
        Cli.deadline(60);
        Cli cli = Cli.parse(args, 3, "ScramAdmin BOOTSTRAP USER PASSWORD");
        String user = cli.positional.get(1);
        String password = cli.positional.get(2);
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion(user,
                            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password),
                    new UserScramCredentialUpsertion(user,
                            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), password)))
                    .all().get(20, TimeUnit.SECONDS);
            Map<String, UserScramCredentialsDescription> described =
                    admin.describeUserScramCredentials(List.of(user)).all().get(20, TimeUnit.SECONDS);
            for (ScramCredentialInfo info : described.get(user).credentialInfos()) {
                System.out.println("CRED " + user + " " + info.mechanism().mechanismName() + " " + info.iterations());
            }
            expect(UnacceptableCredentialException.class, () -> admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion(user + "-weak",
                            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 100), password)))
                    .all().get(20, TimeUnit.SECONDS));
            expect(ResourceNotFoundException.class, () -> admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialDeletion("nobody-" + user, ScramMechanism.SCRAM_SHA_256)))
                    .all().get(20, TimeUnit.SECONDS));
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)))
                    .all().get(20, TimeUnit.SECONDS);
            for (ScramCredentialInfo info : admin.describeUserScramCredentials(List.of(user))
                    .all().get(20, TimeUnit.SECONDS).get(user).credentialInfos()) {
                System.out.println("AFTER " + user + " " + info.mechanism().mechanismName());
            }
        }
        System.out.println("OK");
    }

    interface Step {
        void run() throws Exception;
    }

    static void expect(Class<? extends Exception> wanted, Step step) throws Exception {
        try {
            step.run();
        } catch (ExecutionException e) {
            if (wanted.isInstance(e.getCause())) {
                System.out.println("REFUSED " + wanted.getSimpleName() + ": " + e.getCause().getMessage());
                return;
            }
            throw e;
        }
        Cli.fail("expected " + wanted.getSimpleName());
    }
}
