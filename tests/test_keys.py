"""CCR keys: format, determinism, and independence from the process (hash seed)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from headroom_middleware.ccr import KEY_LENGTH, is_key, make_key

SAMPLE = '[{"id": 1, "msg": "caf\u00e9 \u2603"}]'.encode()


def test_make_key_is_blake2b_12_bytes_in_lowercase_hex() -> None:
    key = make_key(SAMPLE)
    assert len(key) == KEY_LENGTH == 24
    assert key == hashlib.blake2b(SAMPLE, digest_size=12).hexdigest()
    assert key == key.lower()
    assert is_key(key)


def test_make_key_depends_on_every_byte() -> None:
    assert make_key(SAMPLE) == make_key(bytes(SAMPLE))
    assert make_key(SAMPLE) != make_key(SAMPLE + b" ")
    assert make_key(b"") != make_key(b"\x00")
    assert len({make_key(i.to_bytes(4, "big")) for i in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    "value",
    [
        None,
        123,
        b"0123456789abcdef01234567",
        "",
        "0123456789abcdef0123456",  # 23
        "0123456789abcdef012345678",  # 25
        "0123456789ABCDEF01234567",  # upper case
        "0123456789abcdef0123456g",
        "0123456789abcdef0123456\n",
        " 0123456789abcdef0123456",
        "../../../../etc/passwd000",
        "0123456789abcdef01234567\n",
    ],
)
def test_is_key_rejects_malformed(value: object) -> None:
    assert not is_key(value)


def test_is_key_accepts_well_formed() -> None:
    assert is_key("0123456789abcdef01234567")
    assert is_key(make_key(b"anything"))


_CHILD = (
    "import sys\n"
    "from headroom_middleware.ccr import make_key\n"
    "from headroom_middleware.ccr._store import _stripe_index\n"
    "data = sys.stdin.buffer.read()\n"
    "k = make_key(data)\n"
    "print(k, _stripe_index(k, 16), hash('seed probe'))\n"
)


def _child(seed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], input=SAMPLE, env=env, capture_output=True, check=True, timeout=60
    )
    return out.stdout.decode().split()


def test_key_and_stripe_are_identical_across_processes_with_different_hash_seeds() -> None:
    first, second = _child("1"), _child("2")
    assert first[2] != second[2]  # the seeds really differ: Python's own str hash changed
    assert first[:2] == second[:2]
    assert first[0] == make_key(SAMPLE)
