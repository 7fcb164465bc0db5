"""ACLs through confluent-kafka's AdminClient: the same steps and output as
protocol-tests/java/AclAdmin.java.

Usage: confluent_acls.py BOOTSTRAP USER
"""

import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

TIMEOUT = 20


def fail(message):
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def line(tag, b):
    return " ".join(
        [
            tag,
            b.restype.name,
            b.name,
            b.resource_pattern_type.name,
            b.principal,
            b.host,
            b.operation.name,
            b.permission_type.name,
        ]
    )


def show(tag, bindings):
    for text in sorted(line(tag, b) for b in bindings):
        print(text, flush=True)


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    bootstrap, user = sys.argv[1:]
    principal = "User:" + user
    admin = AdminClient({"bootstrap.servers": bootstrap})

    def binding(restype, name, pattern, operation, permission):
        return AclBinding(restype, name, pattern, principal, "*", operation, permission)

    acls = [
        binding(ResourceType.TOPIC, "a.", ResourcePatternType.PREFIXED,
                AclOperation.WRITE, AclPermissionType.ALLOW),
        binding(ResourceType.TOPIC, "a.orders", ResourcePatternType.LITERAL,
                AclOperation.READ, AclPermissionType.ALLOW),
        binding(ResourceType.GROUP, "ga", ResourcePatternType.LITERAL,
                AclOperation.READ, AclPermissionType.ALLOW),
        binding(ResourceType.TOPIC, "a.secret", ResourcePatternType.LITERAL,
                AclOperation.WRITE, AclPermissionType.DENY),
    ]
    for f in admin.create_acls(acls, request_timeout=TIMEOUT).values():
        f.result(TIMEOUT)
    bad = binding(ResourceType.BROKER, "not-the-cluster", ResourcePatternType.LITERAL,
                  AclOperation.ALTER, AclPermissionType.ALLOW)
    try:
        admin.create_acls([bad], request_timeout=TIMEOUT)[bad].result(TIMEOUT)
        fail("an ACL on a cluster not named kafka-cluster was accepted")
    except KafkaException as e:
        print("REFUSED " + e.args[0].name(), flush=True)

    every = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                             AclOperation.ANY, AclPermissionType.ANY)
    show("ACL", admin.describe_acls(every, request_timeout=TIMEOUT).result(TIMEOUT))
    match = AclBindingFilter(ResourceType.TOPIC, "a.orders", ResourcePatternType.MATCH, None,
                             None, AclOperation.ANY, AclPermissionType.ANY)
    show("MATCH", admin.describe_acls(match, request_timeout=TIMEOUT).result(TIMEOUT))
    deny = AclBindingFilter(ResourceType.TOPIC, "a.secret", ResourcePatternType.LITERAL, None,
                            None, AclOperation.ANY, AclPermissionType.DENY)
    deleted = admin.delete_acls([deny], request_timeout=TIMEOUT)[deny].result(TIMEOUT)
    show("DELETED", deleted)
    left = admin.describe_acls(every, request_timeout=TIMEOUT).result(TIMEOUT)
    print("AFTER %d" % len(left), flush=True)
    print("OK", flush=True)


if __name__ == "__main__":
    main()
