"""The clamd client against a real clamd (INSTREAM over TCP and a unix socket), no mocks."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest

from portal.integrations.clamd import ScannerUnavailable, ScanResult, ping, scan
from tests.components import free_port
from tests.support import shared_path


class CountingStream(io.RawIOBase):
    """`size` bytes of clean filler, produced chunk by chunk (never held in memory at once)."""

    def __init__(self, size: int):
        self.left = size
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            raise AssertionError("the scanner must read in chunks")
        self.largest_read = max(self.largest_read, n)
        n = min(n, self.left)
        self.left -= n
        return b"clean filler line\n" * (n // 18) + b"." * (n % 18)


@pytest.mark.requirement("R49")
def test_the_eicar_test_file_is_found(clamd):
    sample = shared_path("data", "uploads", "eicar", "eicar.com.txt").read_bytes()
    for data in (sample, clamd.eicar):
        result = scan(clamd.address, io.BytesIO(data))
        assert result.clean is False
        assert "Eicar" in result.signature


def test_eicar_in_tiny_chunks_is_still_found(clamd):
    result = scan(clamd.address, io.BytesIO(clamd.eicar), chunk_size=7)
    assert not result.clean and "Eicar" in result.signature


def test_clean_bytes_are_clean(clamd):
    assert scan(clamd.address, io.BytesIO(b"%PDF-1.7 a harmless letter")) == ScanResult(True, None)
    assert scan(clamd.address, io.BytesIO(b"")) == ScanResult(True, None)


def test_a_large_stream_goes_in_bounded_chunks(clamd):
    stream = CountingStream(5 * 1024 * 1024)
    assert scan(clamd.address, stream, chunk_size=64 * 1024).clean
    assert stream.left == 0 and stream.largest_read == 64 * 1024


def test_over_the_size_limit_is_no_verdict(clamd):
    # clamd.conf sets StreamMaxLength 30M; clamd answers "INSTREAM size limit exceeded. ERROR".
    with pytest.raises(ScannerUnavailable, match="size limit exceeded"):
        scan(clamd.address, CountingStream(31 * 1024 * 1024), chunk_size=1024 * 1024)


def test_unreachable_scanner(clamd):
    nothing = f"127.0.0.1:{free_port()}"
    with pytest.raises(ScannerUnavailable):
        scan(nothing, io.BytesIO(b"data"), timeout=2)
    with pytest.raises(ScannerUnavailable):
        scan("", io.BytesIO(b"data"))
    with pytest.raises(ScannerUnavailable):
        scan("not-an-address", io.BytesIO(b"data"))
    assert ping(nothing, timeout=1) is False
    assert ping(clamd.address) is True


@pytest.mark.requirement("R69")
def test_a_server_that_never_answers_times_out(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        with pytest.raises(ScannerUnavailable, match="in time"):
            scan(f"127.0.0.1:{listener.getsockname()[1]}", io.BytesIO(b"x"), timeout=0.5)
    finally:
        for conn, _ in accepted:
            conn.close()
        listener.close()


def test_a_reply_that_is_not_a_verdict_raises(tmp_path):
    """A unix socket server that answers like a clamd in trouble."""
    path = str(tmp_path / "fake-clamd.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            received = b""
            while not received.endswith(b"\0\0\0\0"):  # the zero-length terminator
                received += conn.recv(65536)
            conn.sendall(b"stream: Can't allocate memory ERROR\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(ScannerUnavailable, match="no verdict"):
            scan(path, io.BytesIO(b"x"), timeout=5)
    finally:
        thread.join(5)
        listener.close()
        os.unlink(path)


def test_scanner_down_then_back(clamd):
    with clamd.stopped():
        assert ping(clamd.address, timeout=1) is False
        with pytest.raises(ScannerUnavailable):
            scan(clamd.address, io.BytesIO(b"data"), timeout=2)
    assert ping(clamd.address)
    assert scan(clamd.address, io.BytesIO(b"back")).clean
