"""No nonce is shared between a process and its fork, however the fork is made.

A user of the Python package can fork in ways that run no ``pthread_atfork`` handler: a raw
``syscall(SYS_fork)`` or ``syscall(SYS_clone, SIGCHLD, …)`` through ctypes (as some process
managers and sandboxes do). A library that keeps random bytes across calls hands the same
nonces to parent and child then, and AES-GCM under one key with a repeated nonce leaks the XOR
of the plaintexts and lets the authentication key be recovered. keyroll keeps none (each call
draws its nonces when it runs, ``docs/wire-format.md`` §4.1). Here the process encrypts, forks
each way, parent and child each encrypt ``PER_PROCESS`` messages (single calls and a batch),
the child sends its nonces over a pipe and ``_exit``s, and every nonce is compared.
"""

from __future__ import annotations

import base64
import ctypes
import os
import platform
import signal

import pytest

import keyroll

PER_PROCESS = 200
FORKS_PER_METHOD = 20
NONCE_LEN = 12
# x86_64 syscall numbers (asm/unistd_64.h); other architectures have no SYS_fork.
SYS_CLONE, SYS_FORK = 56, 57

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _nonce(token: str | bytes) -> bytes:
    """The 12-byte nonce of an envelope, decoded as docs/wire-format.md §1–2 specify."""
    if isinstance(token, str):
        prefix, version, body = token.split(":")
        assert prefix == "kr1" and version.startswith("v")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    else:
        raw = token
    assert raw[:5] == b"\xc4kr\x01\x01", raw[:5]
    header = 26 if raw[5] & 0x01 else 18
    return raw[header : header + NONCE_LEN]


def _encrypt_nonces(ring: keyroll.Keyring) -> list[bytes]:
    single = PER_PROCESS // 2
    out = [_nonce(ring.encrypt(b"row", context=b"fork")) for _ in range(single // 2)]
    out += [_nonce(ring.encrypt_binary(b"blob")) for _ in range(single - single // 2)]
    out += [_nonce(t) for t in ring.encrypt_many([b"x"] * (PER_PROCESS - single))]
    return out


def _raw_fork() -> int:
    return _libc.syscall(ctypes.c_long(SYS_FORK))


def _raw_clone() -> int:
    # clone(flags = SIGCHLD, stack = 0 (share the copy-on-write stack, as fork), no tids, no tls)
    zero = ctypes.c_long(0)
    return _libc.syscall(
        ctypes.c_long(SYS_CLONE), ctypes.c_long(int(signal.SIGCHLD)), zero, zero, zero, zero
    )


METHODS = {"raw SYS_fork": _raw_fork, "raw SYS_clone": _raw_clone, "os.fork": os.fork}


def _fork_and_compare(ring: keyroll.Keyring, fork) -> int:
    """Forks once; returns how many nonces parent and child share."""
    read_end, write_end = os.pipe()
    pid = fork()
    if pid < 0:
        os.close(read_end)
        os.close(write_end)
        raise OSError(ctypes.get_errno(), "fork failed")
    if pid == 0:  # the child: encrypt, report, and leave without running any Python cleanup
        status = 1
        try:
            os.close(read_end)
            data = b"".join(_encrypt_nonces(ring))
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    mine = _encrypt_nonces(ring)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    theirs = b"".join(chunks)
    assert len(theirs) == PER_PROCESS * NONCE_LEN
    child = {theirs[i : i + NONCE_LEN] for i in range(0, len(theirs), NONCE_LEN)}
    assert len(set(mine)) == len(mine) == PER_PROCESS and len(child) == PER_PROCESS
    return len(child & set(mine))


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64",
    reason="raw fork/clone syscall numbers are those of Linux x86_64",
)
@pytest.mark.parametrize("method", list(METHODS))
def test_no_nonce_shared_across_forks(method: str) -> None:
    ring = keyroll.Keyring.generate()
    before = _encrypt_nonces(ring)  # warm whatever a generator keeps
    shared_forks, shared_nonces = 0, 0
    for _ in range(FORKS_PER_METHOD):
        shared = _fork_and_compare(ring, METHODS[method])
        shared_forks += shared > 0
        shared_nonces += shared
    assert len(set(before)) == PER_PROCESS
    assert (shared_forks, shared_nonces) == (0, 0), (
        f"{method}: {shared_forks} of {FORKS_PER_METHOD} forks shared "
        f"{shared_nonces} nonces with their parent"
    )
