"""Benchmark of the identity vault: sealing, opening and key derivation against baselines.

Prints ``ms <name> <mean milliseconds>`` and ``ratio <name> <mean / baseline>`` lines. Seal
and open are compared with ChaCha20-Poly1305 encryption of the same plaintext (through
``encrypt_symmetric``, as only mediation.vault imports cryptography); the Argon2id
derivations with one argon2-cffi login hash at its defaults. Both baselines are measured
in the same run, so the ratios are comparable across machines.

The complainant's passphrase derivation is also reported as CPU time (``time.process_time``,
every thread of the process counted), which is what a stranger's sign-in attempt or filed
complaint costs the server: ``ms passphrase_derivation_cpu`` with today's profile (target
at most 15 ms for a whole sign-in attempt) and ``ms passphrase_derivation_early_cpu`` with
the profile cases filed before it keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from argon2 import PasswordHasher

from mediation.vault import (
    EARLY_PASSPHRASE_KDF,
    PASSPHRASE_KDF,
    STAFF_KEY_KDF,
    SUITES,
    KeyPair,
    encrypt_symmetric,
    generate_keypair,
    generate_passphrase,
    generate_symmetric_key,
    new_salt,
    open_sealed,
    passphrase_keypair,
    seal,
    unwrap_private_key,
    wrap_private_key,
)

CONTEXT = "case:42:narrative"
PLAINTEXT = ("I was refused service at the counter because of my religion. " * 3).encode()[:160]


def mean_seconds(operation: Callable[[], object], budget: float, minimum: int = 3) -> float:
    """Mean duration of ``operation`` over as many runs as fit in ``budget`` seconds."""
    operation()  # warm up caches and lazy imports
    runs = 0
    started = time.perf_counter()
    while runs < minimum or time.perf_counter() - started < budget:
        operation()
        runs += 1
    return (time.perf_counter() - started) / runs


def mean_cpu_seconds(operation: Callable[[], object], budget: float, minimum: int = 3) -> float:
    """Mean CPU time of ``operation`` (all threads) over as many runs as fit in ``budget``
    seconds of wall time: unlike wall time, other processes on the machine do not add to it."""
    operation()
    runs = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while runs < minimum or time.perf_counter() - started < budget:
        operation()
        runs += 1
    return (time.process_time() - cpu_started) / runs


def report(name: str, seconds: float, baseline: float) -> None:
    print(f"ms {name} {seconds * 1000:.4f}")
    print(f"ratio {name} {seconds / baseline:.3f}")


def bench_suite(keypair: KeyPair, aead_baseline: float) -> None:
    public = keypair.public_key()
    envelope = seal(PLAINTEXT, public, CONTEXT)
    seal_time = mean_seconds(lambda: seal(PLAINTEXT, public, CONTEXT), 1.5)
    report(f"seal_{keypair.suite}", seal_time, aead_baseline)
    open_time = mean_seconds(lambda: open_sealed(envelope, keypair, CONTEXT), 1.5)
    report(f"open_{keypair.suite}", open_time, aead_baseline)
    print(f"bytes envelope_{keypair.suite} {len(envelope)}")


def main() -> None:
    symmetric_key = generate_symmetric_key()
    aead_baseline = mean_seconds(lambda: encrypt_symmetric(PLAINTEXT, symmetric_key, CONTEXT), 1.0)
    print(f"ms baseline_chacha20poly1305 {aead_baseline * 1000:.4f}")

    for suite in SUITES:
        bench_suite(generate_keypair(suite), aead_baseline)

    login_hasher = PasswordHasher()
    kdf_baseline = mean_seconds(lambda: login_hasher.hash("correct horse battery staple"), 2.0)
    print(f"ms baseline_login_hash {kdf_baseline * 1000:.4f}")

    passphrase = generate_passphrase()
    salt = new_salt()
    report(
        "passphrase_derivation",
        mean_seconds(
            lambda: passphrase_keypair(passphrase, salt, "mlkem768-x25519", PASSPHRASE_KDF), 3.0
        ),
        kdf_baseline,
    )

    for name, params in (("", PASSPHRASE_KDF), ("_early", EARLY_PASSPHRASE_KDF)):
        for suite in SUITES:
            cpu = mean_cpu_seconds(
                lambda suite=suite, params=params: passphrase_keypair(
                    passphrase, salt, suite, params
                ),
                2.0,
            )
            print(f"ms passphrase_derivation{name}_cpu_{suite} {cpu * 1000:.3f}")

    wrapped = wrap_private_key(
        generate_keypair("mlkem768-x25519").private, "a password", STAFF_KEY_KDF
    )
    report(
        "staff_key_unwrap",
        mean_seconds(lambda: unwrap_private_key(wrapped, "a password"), 4.0),
        kdf_baseline,
    )


if __name__ == "__main__":
    main()
