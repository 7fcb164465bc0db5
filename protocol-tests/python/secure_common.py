"""The secure-connection contract shared by secure_confluent.py, secure_kafka_python.py and
secure_aiokafka.py (and followed by the Java, Node and Rust programs of protocol-tests/security/):

  roundtrip BOOTSTRAP TOPIC PROTOCOL MECHANISM USER PASSWORD CA CERT KEY
      produces COUNT records to partition 0 of TOPIC (key k<i>, value v<i>), printing
      "ACKED <n>", then reads partition 0 from the beginning without a group, printing
      "READ <n> <first value> <last value>".
  badauth BOOTSTRAP TOPIC PROTOCOL MECHANISM USER PASSWORD CA CERT KEY
      tries to produce and expects an authentication error: prints
      "AUTHFAILED <error type>: <message>".

PROTOCOL is a security.protocol; MECHANISM, USER, PASSWORD, CA (PEM file), CERT and KEY (client
certificate and key, PEM files) are "-" when not used. Failures exit non-zero with
"FAIL: ..." on stderr.
"""

import os
import sys
import threading
import time

COUNT = 5
DEADLINE_S = 60


class Args:
    def __init__(self, argv):
        (self.bootstrap, self.topic, self.protocol, mechanism, user, password, ca, cert,
         key) = argv
        opt = lambda v: None if v == "-" else v  # noqa: E731
        self.mechanism, self.user, self.password = opt(mechanism), opt(user), opt(password)
        self.ca, self.cert, self.key = opt(ca), opt(cert), opt(key)

    @property
    def sasl(self):
        return self.protocol.startswith("SASL_")

    @property
    def tls(self):
        return self.protocol.endswith("SSL")


class AuthLog:
    """Collects the client library's log lines about authentication: some clients (kafka-python,
    aiokafka) log the broker's SaslAuthenticate error and raise only a bootstrap timeout."""

    def __init__(self):
        import logging

        self.lines = []
        outer = self

        class Handler(logging.Handler):
            def emit(self, record):
                text = record.getMessage()
                if "uthenticat" in text:
                    outer.lines.append(text)

        logging.getLogger().addHandler(Handler())
        logging.getLogger().setLevel(logging.INFO)

    def report(self, exc):
        """AUTHFAILED with the exception, or the logged authentication error behind it."""
        text = "%s: %s" % (type(exc).__name__, exc)
        if "uthenticat" not in text:
            if not self.lines:
                fail("not an authentication error: " + text)
            text = "%s (logged: %s)" % (text, self.lines[0].replace("\n", " "))
        out("AUTHFAILED", text)


def out(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


def fail(message):
    sys.stdout.flush()
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def _deadline():
    time.sleep(DEADLINE_S)
    print("FAIL: still running after the %d s deadline" % DEADLINE_S, file=sys.stderr, flush=True)
    os._exit(3)


def run(roundtrip, badauth):
    threading.Thread(target=_deadline, daemon=True).start()
    if len(sys.argv) != 11 or sys.argv[1] not in ("roundtrip", "badauth"):
        fail("usage: %s roundtrip|badauth BOOTSTRAP TOPIC PROTOCOL MECHANISM USER PASSWORD CA CERT KEY"
             % sys.argv[0])
    args = Args(sys.argv[2:])
    try:
        (roundtrip if sys.argv[1] == "roundtrip" else badauth)(args)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - any client error fails the run, loudly
        import traceback

        traceback.print_exc()
        fail("%s failed: %r" % (sys.argv[1], exc))


def check_read(values):
    if len(values) != COUNT or values != ["v%d" % i for i in range(COUNT)]:
        fail("read back %r" % values)
    out("READ", len(values), values[0], values[-1])
