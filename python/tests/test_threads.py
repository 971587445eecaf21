"""One Keyring shared by many threads encrypting, decrypting, rewrapping and rotating."""

from __future__ import annotations

import os
import threading

import keyroll


def test_many_threads_share_one_keyring() -> None:
    ring = keyroll.Keyring.generate()
    seed = [ring.encrypt(b"", context=b"seed") for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(12)
    rotations: list[int] = []

    def worker(i: int) -> None:
        try:
            start.wait()
            for j in range(300):
                data = os.urandom((i * 131 + j) % 40_000)  # some above the GIL-release size
                ctx = f"t{i}:{j}".encode()
                if j % 2:
                    token = ring.encrypt(data, context=ctx)
                else:
                    token = ring.encrypt_binary(data, context=ctx)
                assert ring.decrypt(token, context=ctx) == data
                assert ring.decrypt(ring.rewrap(token, context=ctx), context=ctx) == data
                if j % 50 == 0:
                    batch = [data[:50]] * 40
                    assert ring.decrypt_many(ring.encrypt_many(batch)) == batch
                for tok in seed:
                    assert ring.decrypt(tok, context=b"seed") == b""
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    def rotator() -> None:
        try:
            start.wait()
            for _ in range(20):
                rotations.append(ring.rotate())
                ring.check_policy()
                _ = ring.versions
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    threads += [threading.Thread(target=rotator) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # 40 rotations, no version lost or repeated.
    assert sorted(rotations) == list(range(2, 42))
    assert ring.active_version == 41
    assert [v.version for v in ring.versions] == list(range(1, 42))
