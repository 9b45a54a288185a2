"""Linux network namespaces as hosts: one namespace per node, a bridge in its own namespace.

Layout for a prefix ``P`` (docs/mpi.md, "A hosts file across hosts, tested on one machine";
BENCHMARKS.md, "Cluster"):

    namespace P-br      bridge ``br0``; the bridge-side veth end of every node is a port of it
    namespace P-n<i>    node i: ``lo`` and ``eth0`` (the node-side veth end), address
                        10.200.<i // 250>.<i % 250 + 1>/16 (private, inside the namespaces only)

Nothing is created in the namespace of the caller, so deleting the namespaces deletes every
link. A rate limit is a token bucket (tbf) on each node's link in both directions: on ``eth0``
(what the node sends) and on its bridge port (what the node receives). Byte counters are read
on the bridge ports: rx = bytes the node sent, tx = bytes it received.

Every ``ip``/``tc`` call is bounded by ``CMD_TIMEOUT_S``; :func:`sweep` removes stale namespaces
of a prefix (killing what still runs inside them) so an interrupted run leaves nothing behind
for long.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass

from election.errors import ConfigError, ElectionError

CMD_TIMEOUT_S = 30.0  # one ip/tc invocation
MAX_PREFIX = 8  # interface names are at most 15 characters: P + node number + 'b'
MAX_NODES = 1000  # addresses 10.200.0.1 .. 10.200.3.250
NODE_IFACE = "eth0"  # the node-side veth end, the same name in every node namespace
BRIDGE = "br0"
TBF_BURST_S = 0.001  # bucket size: 1 ms of the rate (at least BURST_MIN_BYTES)
TBF_BURST_MIN_BYTES = 16 * 1514  # several full frames, so a 1 Gbit/s bucket is not too small
TBF_LATENCY_MS = 50  # queue limit of the bucket, as the time a packet may wait in it
RATES: dict[str, float | None] = {  # --rate name -> bits per second (None = no limit)
    "unlimited": None,
    "10gbit": 10e9,
    "1gbit": 1e9,
}


class NetnsError(ElectionError):
    """An ip/tc command failed (message: the command and its stderr)."""


def rate_bps(name: str) -> float | None:
    try:
        return RATES[name]
    except KeyError:
        raise ConfigError(f"unknown rate {name!r}; choose from {', '.join(RATES)}") from None


def require_root(what: str) -> None:
    """One clear line unless this process may create namespaces and ``ip``/``tc`` exist."""
    if os.geteuid() != 0:
        raise ConfigError(
            f"{what} needs root (it creates Linux network namespaces); run it as root"
        )
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            raise ConfigError(
                f"{what} needs the {tool!r} command (Debian: apt-get install iproute2)"
            )


def check_prefix(prefix: str) -> None:
    if not re.fullmatch(rf"[a-z][a-z0-9]{{0,{MAX_PREFIX - 1}}}", prefix):
        raise ConfigError(
            f"namespace prefix {prefix!r} must be 1-{MAX_PREFIX} lower-case letters or digits"
        )


def run(*argv: str, check: bool = True) -> str:
    """Run one command (bounded); returns stdout, raises NetnsError with stderr on failure."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CMD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise NetnsError(f"{' '.join(argv)}: no answer in {CMD_TIMEOUT_S:g}s") from None
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in run("ip", "netns", "list").splitlines() if line.strip()]


def owned(prefix: str, name: str) -> bool:
    """Whether namespace ``name`` is one this module makes for ``prefix`` (exact pattern)."""
    return re.fullmatch(rf"{re.escape(prefix)}-(br|n\d+)", name) is not None


def delete_namespace(name: str) -> None:
    """Kill the processes inside ``name`` (they are this prefix's), then delete it."""
    for pid in run("ip", "netns", "pids", name, check=False).split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "delete", name, check=False)


def sweep(prefix: str) -> list[str]:
    """Delete every namespace of ``prefix`` (a previous run's leftovers); returns their names."""
    stale = [name for name in namespaces() if owned(prefix, name)]
    for name in stale:
        delete_namespace(name)
    return stale


def address(node: int) -> str:
    """Node i's private address (without the /16)."""
    return f"10.200.{node // 250}.{node % 250 + 1}"


@dataclass
class Topology:
    """``nodes`` hosts on one bridge; use as a context manager (teardown on exit)."""

    prefix: str
    nodes: int

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if not 1 <= self.nodes <= MAX_NODES:
            raise ConfigError(f"{self.nodes} nodes: use 1..{MAX_NODES}")
        self.created: list[str] = []
        self.rate: float | None = None

    @property
    def bridge_ns(self) -> str:
        return f"{self.prefix}-br"

    def ns(self, node: int) -> str:
        return f"{self.prefix}-n{node}"

    def port(self, node: int) -> str:
        """The bridge-side veth end of ``node`` (in the bridge namespace)."""
        return f"{self.prefix}{node}b"

    def address(self, node: int) -> str:
        return address(node)

    def exec_prefix(self, node: int) -> list[str]:
        """argv prefix that runs a command inside node's namespace (``ip`` execs it: same pid)."""
        return ["ip", "netns", "exec", self.ns(node)]

    def create(self) -> Topology:
        sweep(self.prefix)
        try:
            self._add_ns(self.bridge_ns)
            run("ip", "-n", self.bridge_ns, "link", "add", BRIDGE, "type", "bridge")
            run("ip", "-n", self.bridge_ns, "link", "set", BRIDGE, "up")
            for node in range(self.nodes):
                self._add_node(node)
        except BaseException:
            self.teardown()
            raise
        return self

    def _add_ns(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.created.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def _add_node(self, node: int) -> None:
        ns, port, br = self.ns(node), self.port(node), self.bridge_ns
        self._add_ns(ns)
        run(
            "ip",
            "-n",
            br,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            NODE_IFACE,
            "netns",
            ns,
        )
        run("ip", "-n", br, "link", "set", port, "master", BRIDGE, "up")
        run("ip", "-n", ns, "addr", "add", f"{self.address(node)}/16", "dev", NODE_IFACE)
        run("ip", "-n", ns, "link", "set", NODE_IFACE, "up")

    def set_rate(self, bits_per_s: float | None) -> None:
        """tbf at ``bits_per_s`` on both directions of every node's link (None: remove it)."""
        for node in range(self.nodes):
            for ns, dev in ((self.ns(node), NODE_IFACE), (self.bridge_ns, self.port(node))):
                run("tc", "-n", ns, "qdisc", "del", "dev", dev, "root", check=False)
                if bits_per_s is not None:
                    burst = max(TBF_BURST_MIN_BYTES, int(bits_per_s / 8 * TBF_BURST_S))
                    run(
                        "tc",
                        "-n",
                        ns,
                        "qdisc",
                        "add",
                        "dev",
                        dev,
                        "root",
                        "tbf",
                        "rate",
                        f"{int(bits_per_s)}bit",
                        "burst",
                        str(burst),
                        "latency",
                        f"{TBF_LATENCY_MS}ms",
                    )
        self.rate = bits_per_s

    def counters(self) -> dict[int, tuple[int, int]]:
        """node -> (bytes the node sent, bytes it received) so far, read on the bridge ports."""
        links = json.loads(run("ip", "-n", self.bridge_ns, "-s", "-j", "link", "show"))
        by_name = {link["ifname"]: link["stats64"] for link in links}
        out = {}
        for node in range(self.nodes):
            stats = by_name[self.port(node)]
            out[node] = (int(stats["rx"]["bytes"]), int(stats["tx"]["bytes"]))
        return out

    def teardown(self) -> None:
        for name in reversed(self.created):
            delete_namespace(name)
        self.created = []

    def __enter__(self) -> Topology:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.teardown()
