"""Which Host names the studio answers to; hosts.py refuses the rest.

Always: `localhost` and loopback addresses (`127.0.0.1`, `[::1]`, …), with any port. Beyond
loopback, launch.py adds the bound address and the names listed in STUDIO_ALLOWED_HOSTS
(comma-separated; `*.example.com` matches every subdomain) and hands the list to the server in the
same variable. A wildcard bind (`0.0.0.0`, `::`) answers on every address of the machine, so it
serves every IP-address Host: an address typed into a browser cannot be a rebinding name, and the
machine's addresses are not known in advance.

Standard library only: the launcher builds the list before the server starts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

ALLOWED_HOSTS_ENV = "STUDIO_ALLOWED_HOSTS"
_WILDCARD_BINDS = frozenset({"0.0.0.0", "[::]"})


def split_names(value: str) -> list[str]:
    return [name for name in (_normal(part) for part in value.split(",")) if name]


def launcher_allowed_hosts(bind_host: str, configured: str) -> str:
    """STUDIO_ALLOWED_HOSTS for a server bound to `bind_host` beyond loopback: the bound address
    first, then the names the user configured."""
    names = [_normal(bind_host), *split_names(configured)]
    return ",".join(dict.fromkeys(name for name in names if name))


class HostNames:
    def __init__(self, allowed: Iterable[str] = ()):
        names = {_normal(name) for name in allowed} - {""}
        self.any_address = bool(names & _WILDCARD_BINDS)
        self.suffixes = tuple(name[1:] for name in names if name.startswith("*."))
        self.names = frozenset(name for name in names if not name.startswith("*.")) | {"localhost"}

    def allows(self, header: str | None) -> bool:
        """Whether a request with this Host header (name and optional port) is served."""
        name = _host_of(header or "")
        if not name:
            return False
        if name in self.names or any(name.endswith(suffix) for suffix in self.suffixes):
            return True
        address = _address(name)
        return address is not None and (address.is_loopback or self.any_address)


def _normal(name: str) -> str:
    """A configured name as a Host header spells it, without its port: lower case, no trailing
    dot, an IPv6 address in brackets; "" for a malformed one."""
    name = name.strip()
    if name.count(":") > 1 and not name.startswith("["):
        name = f"[{name}]"  # a bare IPv6 address, as --host takes it
    return _host_of(name)


def _host_of(header: str) -> str:
    """The name in a Host header without its port; "" for a malformed one."""
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header.partition("]")
        name += bracket
        if rest and not rest.startswith(":"):
            return ""
        port = rest[1:]
    else:
        name, _, port = header.partition(":")
    if not _well_formed(name) or (port and not port.isdigit()):
        return ""
    return name.rstrip(".")


def _well_formed(name: str) -> bool:
    if name.startswith("["):
        return name.endswith("]") and _address(name) is not None
    return bool(name) and ":" not in name and "]" not in name


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return None
