"""Hosts without a shared network stack, for the multi-host test: one network namespace per host,
each with a veth pair to a bridge that lives in a namespace of its own (the switch), plus one veth
from the test's own namespace so that the test can reach them. The addresses are in 198.18.0.0/15,
the range set aside for network tests (RFC 2544), used only on these links.

Needs root and the `ip` tool; `unavailable_reason()` says why not otherwise. Everything made is
removed by `destroy()`, which the test calls in a finally."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

SUBNET = "198.18.77"
TEST_ADDRESS = f"{SUBNET}.254"  # the test's own end of the network


def unavailable_reason() -> str | None:
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return "not running as root (network namespaces need CAP_SYS_ADMIN)"
    if shutil.which("ip") is None:
        return "the `ip` tool (iproute2) is not installed"
    probe = f"studio-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


class Network:
    """Namespaces named `<tag>-<host>`; host i (from 1) has address SUBNET.i."""

    def __init__(self, hosts: list[str]):
        self.tag = f"st{uuid.uuid4().hex[:6]}"
        self.switch = f"{self.tag}-sw"
        self.root_link = f"{self.tag}r"  # at most 15 characters, as interface names must be
        self.addresses = {host: f"{SUBNET}.{index}" for index, host in enumerate(hosts, start=1)}
        self._made: list[str] = []

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def create(self) -> None:
        _ip("netns", "add", self.switch)
        self._made.append(self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for host, address in self.addresses.items():
            ns = self.namespace(host)
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"p-{host}", "netns", self.switch)
            _ip("-n", self.switch, "link", "set", f"p-{host}", "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", self.root_link, "type", "veth", "peer", "name", "p-test", "netns", self.switch)
        _ip("-n", self.switch, "link", "set", "p-test", "master", "br0", "up")
        _ip("addr", "add", f"{TEST_ADDRESS}/24", "dev", self.root_link)
        _ip("link", "set", self.root_link, "up")

    def exec_prefix(self, host: str) -> list[str]:
        """The command prefix that runs a program on `host` (ip netns exec keeps the pid: it execs)."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def destroy(self) -> None:
        subprocess.run(["ip", "link", "del", self.root_link], capture_output=True)
        for ns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._made.clear()
