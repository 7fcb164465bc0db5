import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * ACLs through the Java AdminClient: create USER's ACLs (WRITE on topics prefixed "a.", READ on
 * topic "a.orders" and group "ga", a DENY of WRITE on "a.secret"), have an ACL on a cluster not
 * named kafka-cluster refused, list every ACL ("ACL ..." lines), the ACLs that apply to topic
 * "a.orders" (MATCH, "MATCH ..." lines), delete the DENY ("DELETED ..." lines) and count what is
 * left ("AFTER n"). Prints "OK" at the end.
 *
 * <p>Usage: AclAdmin BOOTSTRAP USER
 */
public final class AclAdmin {
    public static void main(String[] args) throws Exception {
        Cli.deadline(60);
        Cli cli = Cli.parse(args, 2, "AclAdmin BOOTSTRAP USER");
        String principal = "User:" + cli.positional.get(1);
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            List<AclBinding> acls = List.of(
                    binding(ResourceType.TOPIC, "a.", PatternType.PREFIXED, principal,
                            AclOperation.WRITE, AclPermissionType.ALLOW),
                    binding(ResourceType.TOPIC, "a.orders", PatternType.LITERAL, principal,
                            AclOperation.READ, AclPermissionType.ALLOW),
                    binding(ResourceType.GROUP, "ga", PatternType.LITERAL, principal,
                            AclOperation.READ, AclPermissionType.ALLOW),
                    binding(ResourceType.TOPIC, "a.secret", PatternType.LITERAL, principal,
                            AclOperation.WRITE, AclPermissionType.DENY));
            admin.createAcls(acls).all().get(20, TimeUnit.SECONDS);
            try {
                admin.createAcls(List.of(binding(ResourceType.CLUSTER, "not-the-cluster",
                        PatternType.LITERAL, principal, AclOperation.ALTER, AclPermissionType.ALLOW)))
                        .all().get(20, TimeUnit.SECONDS);
                Cli.fail("an ACL on a cluster not named kafka-cluster was accepted");
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof InvalidRequestException)) {
                    throw e;
                }
                System.out.println("REFUSED " + e.getCause().getClass().getSimpleName());
            }
            print("ACL", admin.describeAcls(AclBindingFilter.ANY).values().get(20, TimeUnit.SECONDS));
            AclBindingFilter match = new AclBindingFilter(
                    new ResourcePatternFilter(ResourceType.TOPIC, "a.orders", PatternType.MATCH),
                    AccessControlEntryFilter.ANY);
            print("MATCH", admin.describeAcls(match).values().get(20, TimeUnit.SECONDS));
            AclBindingFilter deny = new AclBindingFilter(
                    new ResourcePatternFilter(ResourceType.TOPIC, "a.secret", PatternType.LITERAL),
                    new AccessControlEntryFilter(null, null, AclOperation.ANY, AclPermissionType.DENY));
            print("DELETED", admin.deleteAcls(List.of(deny)).all().get(20, TimeUnit.SECONDS));
            Collection<AclBinding> left = admin.describeAcls(AclBindingFilter.ANY).values()
                    .get(20, TimeUnit.SECONDS);
            System.out.println("AFTER " + left.size());
        }
        System.out.println("OK");
    }

    static AclBinding binding(ResourceType type, String name, PatternType pattern, String principal,
            AclOperation operation, AclPermissionType permission) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, "*", operation, permission));
    }

    static void print(String tag, Collection<AclBinding> acls) {
        List<String> lines = new ArrayList<>();
        for (AclBinding b : acls) {
            lines.add(tag + " " + b.pattern().resourceType() + " " + b.pattern().name() + " "
                    + b.pattern().patternType() + " " + b.entry().principal() + " " + b.entry().host()
                    + " " + b.entry().operation() + " " + b.entry().permissionType());
        }
        lines.sort(null);
        lines.forEach(System.out::println);
    }
}
