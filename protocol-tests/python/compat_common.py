"""The compatibility suite's client contract (protocol-tests/compat/), shared by the Python
client programs compat_confluent.py, compat_kafka_python.py and compat_aiokafka.py.

Every compat program (Python, Node, Java) answers the same subcommands and prints the same
lines, so the Rust suite drives them all alike:

  info                                      VERSION <text> / CODECS none,gzip,...
  topics BOOTSTRAP AUTO_TOPIC ADMIN_TOPIC   produces one record to AUTO_TOPIC (auto-created),
                                            AUTO <partitions>; creates ADMIN_TOPIC with 4
                                            partitions, DESCRIBED <partitions>, deletes it, DELETED
  produce BOOTSTRAP COUNT TS_BASE JOB...    JOB = TOPIC:CODEC:MODE (MODE plain = the client's
                                            defaults, idempotent = idempotence switched on);
                                            ACK <topic> <index> <partition> <offset>
  consume BOOTSTRAP TOPIC:N...              reads every partition from the beginning, without a
                                            group; REC lines (below)
  member BOOTSTRAP GROUP TOPIC              a group member: ASSIGNED <p,p|->, a REC line for each
                                            record after its offset was committed; SIGTERM closes
                                            it gracefully (leaving the group), then CLOSED
  seek BOOTSTRAP TOPIC TS                   on a 1-partition topic of 10 records stamped TS+i*1000:
                                            READ 10, then BEGINNING/OFFSET/TIMESTAMP <first offset
                                            read after seeking to the beginning, to 6, to TS+3500>,
                                            ENDPOS <position after seeking to the end>, END <records
                                            read in the second after that>

Record i of a produce job: key "k<i%5>" (none when i%4 == 3), value "<topic>-<i>.<pad>",
headers seq=<i>, client=<client>, timestamp TS_BASE+i.
REC line: REC topic partition offset timestamp key value headers (key "-" when null, headers
k=v,k=v or "-"). Failures exit non-zero with "FAIL: ..." on stderr.
"""

import os
import sys
import threading
import time

DEADLINE_S = 100
PAD = "weir" * 40
SEEK_OFFSET = 6
SEEK_TS_DELTA = 3500


def key(i):
    return None if i % 4 == 3 else "k%d" % (i % 5)


def value(topic, i):
    return "%s-%d.%s" % (topic, i, PAD)


def headers(i, client):
    return [("seq", str(i).encode()), ("client", client.encode())]


def jobs(specs):
    """TOPIC:CODEC:MODE strings -> (topic, codec, idempotent) tuples."""
    out = []
    for spec in specs:
        topic, codec, mode = spec.split(":")
        out.append((topic, codec, mode == "idempotent"))
    return out


def topic_counts(specs):
    out = []
    for spec in specs:
        topic, n = spec.rsplit(":", 1)
        out.append((topic, int(n)))
    return out


def text(b):
    if b is None:
        return "-"
    return b.decode() if isinstance(b, (bytes, bytearray)) else str(b)


def header_text(hs):
    if not hs:
        return "-"
    return ",".join("%s=%s" % (k, text(v)) for k, v in hs)


def out(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


def rec(topic, partition, offset, timestamp, k, v, hs):
    out("REC", topic, partition, offset, timestamp, text(k), text(v), header_text(hs))


def fail(message):
    sys.stdout.flush()
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def check(ok, what):
    if not ok:
        fail("check failed: " + what)


def _deadline():
    time.sleep(DEADLINE_S)
    sys.stdout.flush()
    print("FAIL: still running after the %d s deadline" % DEADLINE_S, file=sys.stderr, flush=True)
    os._exit(3)


def run(commands):
    """Dispatches sys.argv to commands[name](*args); any exception fails loudly."""
    threading.Thread(target=_deadline, daemon=True).start()
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        fail("usage: %s {%s} ARGS..." % (sys.argv[0], "|".join(commands)))
    try:
        commands[sys.argv[1]](*sys.argv[2:])
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - any client error fails the run, loudly
        import traceback

        traceback.print_exc()
        fail("%s failed: %r" % (sys.argv[1], exc))
