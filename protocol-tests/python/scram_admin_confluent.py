"""SCRAM users through confluent-kafka's AdminClient: the same steps and output as
protocol-tests/java/ScramAdmin.java.

Usage: scram_admin_confluent.py BOOTSTRAP USER PASSWORD
"""

import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

TIMEOUT = 20


def fail(message):
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def wait(futures):
    for f in futures.values():
        f.result(TIMEOUT)


def expect(code, futures):
    for f in futures.values():
        try:
            f.result(TIMEOUT)
        except KafkaException as e:
            err = e.args[0]
            if err.code() != code:
                fail("expected %s, got %s" % (code, err))
            print("REFUSED %s: %s" % (err.name(), err.str()), flush=True)
            return
    fail("expected error %s" % code)


def main():
    bootstrap, user, password = sys.argv[1:4]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    pw = password.encode()
    wait(admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), pw),
        UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), pw),
    ]))
    described = admin.describe_user_scram_credentials([user])[user].result(TIMEOUT)
    for info in described.scram_credential_infos:
        print("CRED %s %s %d" % (user, info.mechanism.name.replace("_", "-"), info.iterations), flush=True)
    expect(KafkaError.UNACCEPTABLE_CREDENTIAL, admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion(user + "-weak", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 100), pw)]))
    expect(KafkaError.RESOURCE_NOT_FOUND, admin.alter_user_scram_credentials([
        UserScramCredentialDeletion("nobody-" + user, ScramMechanism.SCRAM_SHA_256)]))
    wait(admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)]))
    for info in admin.describe_user_scram_credentials([user])[user].result(TIMEOUT).scram_credential_infos:
        print("AFTER %s %s" % (user, info.mechanism.name.replace("_", "-")), flush=True)
    print("OK", flush=True)


main()
