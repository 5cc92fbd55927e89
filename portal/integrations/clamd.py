"""Malware scanning through clamd's INSTREAM protocol (TCP or a unix socket).

`zINSTREAM\\0`, then the file in chunks, each prefixed by its length as a 4-byte big-endian
integer, then a zero-length chunk; clamd answers one NUL-terminated line:
"stream: OK", "stream: <signature> FOUND", or "... ERROR" (e.g. "INSTREAM size limit exceeded.
ERROR" once StreamMaxLength is passed, after which clamd closes the connection). Only the first
two are verdicts; anything else means the file was not scanned and raises ScannerUnavailable.
Memory stays bounded: one chunk at a time, and the reply is capped.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import time
from dataclasses import dataclass
from typing import BinaryIO

_MAX_REPLY = 4096
_FOUND = re.compile(r"stream: (?P<signature>.+) FOUND")


class ScannerUnavailable(Exception):
    """No clear verdict: cannot connect, timeout, protocol error, size limit exceeded…"""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None  # e.g. "Eicar-Test-Signature.UNOFFICIAL" when found


def _connect(address: str, timeout: float) -> socket.socket:
    if not address:
        raise ScannerUnavailable("no scanner address configured")
    try:
        if address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
            except BaseException:
                sock.close()
                raise
            return sock
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ScannerUnavailable(f"scanner address is not host:port or /socket: {address!r}")
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        sock.settimeout(timeout)
        return sock
    except OSError as exc:
        raise ScannerUnavailable(f"cannot connect to clamd at {address}: {exc}") from exc


def _read_reply(sock: socket.socket, deadline: float) -> str:
    reply = b""
    while b"\0" not in reply:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScannerUnavailable("clamd did not answer in time")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1024)
        except TimeoutError as exc:
            raise ScannerUnavailable("clamd did not answer in time") from exc
        except OSError as exc:
            raise ScannerUnavailable(f"reading clamd's answer failed: {exc}") from exc
        if not chunk:
            break
        reply += chunk
        if len(reply) > _MAX_REPLY:
            raise ScannerUnavailable("clamd's answer is too long")
    if b"\0" not in reply:
        raise ScannerUnavailable(f"clamd closed the connection without an answer: {reply[:200]!r}")
    return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _verdict(reply: str) -> ScanResult:
    if reply == "stream: OK":
        return ScanResult(clean=True, signature=None)
    found = _FOUND.fullmatch(reply)
    if found:
        return ScanResult(clean=False, signature=found.group("signature"))
    raise ScannerUnavailable(f"clamd gave no verdict: {reply[:200]!r}")


def scan(
    address: str, stream: BinaryIO, *, timeout: float = 60.0, chunk_size: int = 64 * 1024
) -> ScanResult:
    """Scan everything `stream` yields (from its current position) with clamd at `address`.

    `timeout` bounds the whole exchange, not just each socket operation.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    deadline = time.monotonic() + timeout
    sock = _connect(address, timeout)
    with contextlib.closing(sock):
        try:
            sock.sendall(b"zINSTREAM\0")
            while chunk := stream.read(chunk_size):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ScannerUnavailable("scanning took too long")
                sock.settimeout(remaining)
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except (BrokenPipeError, ConnectionResetError) as exc:
            # clamd stops reading and closes once a limit is hit; its reason is on the socket.
            try:
                reason = _read_reply(sock, min(deadline, time.monotonic() + 2))
            except ScannerUnavailable:
                reason = ""
            raise ScannerUnavailable(
                f"clamd closed the stream: {reason or type(exc).__name__}"
            ) from exc
        except OSError as exc:
            raise ScannerUnavailable(f"sending to clamd failed: {exc}") from exc
        return _verdict(_read_reply(sock, deadline))


def ping(address: str, *, timeout: float = 5.0) -> bool:
    """True when clamd at `address` answers PONG."""
    try:
        sock = _connect(address, timeout)
    except ScannerUnavailable:
        return False
    with contextlib.closing(sock):
        try:
            sock.sendall(b"zPING\0")
            return _read_reply(sock, time.monotonic() + timeout) == "PONG"
        except (OSError, ScannerUnavailable):
            return False
