"""What a session records of the client that opened it, and no more: a device name parsed from
the User-Agent (the raw header is not kept) and the client address truncated to its network
(/24 for IPv4, /48 for IPv6; the full address is not kept).

The device comes from `ua-parser` (Browserscope's/uap-core's rules, refreshed monthly in
`ua-parser-builtins`); `user-agents`, the other common choice, wraps an older ua-parser and has
not been released since 2020.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass

from ua_parser import parse as parse_user_agent

from storage.pg.sessions import Network

USER_AGENT_MAX_LENGTH = 512
"""Longer headers are cut before parsing (the rules are regular expressions)."""
DEVICE_MAX_LENGTH = 128
IPV4_PREFIX = 24
IPV6_PREFIX = 48
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")


@dataclass(frozen=True, slots=True)
class SessionClient:
    """What a new session records of its client (each None when unknown)."""

    device: str | None = None
    approximate_address: Network | None = None


async def session_client(client_ip: str | None, user_agent: str | None) -> SessionClient:
    """The device and approximate address of a request's client. CPU only: the User-Agent is
    parsed off the event loop (`device_of`)."""
    return SessionClient(
        device=await device_of(user_agent), approximate_address=approximate_network(client_ip)
    )


def approximate_network(address: str | None) -> Network | None:
    """The /24 (IPv4) or /48 (IPv6) network of `address`; an IPv4-mapped IPv6 address counts as
    IPv4. None for None or anything that is not an IP address. No I/O."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv4Address):
        return ipaddress.IPv4Network((parsed, IPV4_PREFIX), strict=False)
    return ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False)


def describe_device(user_agent: str | None) -> str | None:
    """`Chrome 124 on Windows 10`, `Mobile Safari 17 on iOS 17.4 (Apple iPhone)`; for a client
    the rules do not know, the first product of its header (`okhttp/4.12.0`); None without a
    header. Printable ASCII only, at most DEVICE_MAX_LENGTH characters. CPU only (about a
    millisecond; the first call compiles the rules, a few hundred ms: see `device_of`)."""
    if not user_agent or not user_agent.strip():
        return None
    header = user_agent[:USER_AGENT_MAX_LENGTH]
    result = parse_user_agent(header)
    parts: list[str] = []
    if result.user_agent is not None and result.user_agent.family != "Other":
        parts.append(_versioned(result.user_agent.family, result.user_agent.major))
    if result.os is not None and result.os.family != "Other":
        os_version = ".".join(v for v in (result.os.major, result.os.minor) if v)
        parts.append(("on " if parts else "") + _versioned(result.os.family, os_version))
    if result.device is not None and result.device.family not in ("Other", "Spider"):
        brand, model = result.device.brand, result.device.model
        name = " ".join(part for part in (brand, model) if part) or result.device.family
        parts.append(f"({name})")
    label = " ".join(parts) if parts else header.strip().split(" ", 1)[0]
    cleaned = _UNPRINTABLE.sub(" ", label).strip()[:DEVICE_MAX_LENGTH]
    return cleaned or None


def _versioned(name: str, version: str | None) -> str:
    return f"{name} {version}" if version else name


async def device_of(user_agent: str | None) -> str | None:
    """`describe_device` off the event loop (its first call compiles the rules)."""
    if not user_agent or not user_agent.strip():
        return None
    return await asyncio.to_thread(describe_device, user_agent)
