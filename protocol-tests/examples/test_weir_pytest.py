import json
import os
import subprocess
import tempfile
import time
import urllib.request

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

WEIR = os.environ.get("WEIR_BIN", "weir")


class Weir:
    """A running `weir serve --control`: its addresses and its control API."""

    def __init__(self, ready):
        self.bootstrap = ready["kafka"]
        self.admin = "http://" + ready["admin"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.admin + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def fault(self, **rule):
        return self.call("POST", "/faults", rule)["id"]

    def faults(self):
        return self.call("GET", "/faults")

    def reset(self):
        return self.call("POST", "/reset")


@pytest.fixture(scope="session")
def weir_broker():
    """One broker for the whole session: private data, ports chosen by the OS."""
    with tempfile.TemporaryDirectory() as tmp:
        ready_file = os.path.join(tmp, "ready.json")
        process = subprocess.Popen(
            [WEIR, "serve", "--ephemeral", "--control", "--listen", "127.0.0.1:0",
             "--admin-listen", "127.0.0.1:0", "--ready-file", ready_file],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not os.path.exists(ready_file):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("weir did not start")
            time.sleep(0.01)
        with open(ready_file) as f:
            ready = json.load(f)
        try:
            yield Weir(ready)
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def kafka(weir_broker):
    """Each test starts from an empty broker: no topics, groups, offsets or faults."""
    weir_broker.reset()
    return weir_broker


def test_the_producer_retries_through_not_leader(kafka):
    kafka.fault(api="Produce", topic="orders", error="NOT_LEADER_OR_FOLLOWER", times=2)
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "retry.backoff.ms": 50})
    errors = []
    producer.produce("orders", b"order-1", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    assert errors == [None]
    assert kafka.faults()[0]["fired"] == 2


def test_each_test_starts_from_an_empty_broker(kafka):
    topics = AdminClient({"bootstrap.servers": kafka.bootstrap}).list_topics(timeout=10).topics
    assert "orders" not in topics
    assert kafka.faults() == []
