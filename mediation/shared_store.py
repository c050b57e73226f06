"""The store every app worker shares: sign-in gates, and the random key that hashes client
addresses for one period.

It is Redis when the limiter's counters are (`RATELIMIT_STORAGE_URI`, set from `REDIS_URL`),
and this process's memory otherwise, which is right only for a single process, as for the
limiter's own counters.

A client address is never kept, and never hashed under anything that outlives the
throttling it serves: every keyed hash of an address (the limiter's counters, the sign-in
gates) is an HMAC under a random key made for the current period (`CLIENT_KEY_PERIOD`
seconds, a day by default: the longest limit counts over a day). That key exists only in
this store, never in the database or instance/, and expires with its period; the counters
under it expire with their own windows. Someone who later holds the database, Redis and
instance/ finds digests under a key that no longer exists: enumerating every IPv4 address
recovers nothing, and nothing links an address to a case reference typed from it. While the
period lasts, whoever holds Redis holds the key, as they hold the counters.

A gate counts attempts and makes the next one wait (see domain/backoff.py). An attempt is
reserved, counted as if it failed, atomically before the slow check it is for runs, so that
attempts sent together cannot all pass one open gate; a success then gives its count back.

A gate's count does not restart when the period's key changes (at 00:00 UTC by default):
the previous period's key is kept `CARRY_SECONDS` (an hour, the longest gate window) past
its period, and while it is, reserving on a gate reads the same gate under that key too and
carries its count over. After that the old key expires, as do the gates counted under it,
so nothing links them any more.

Redis is asked with short timeouts; an error of it (down, hanging, refusing) is a
`redis.RedisError`, which the web layer answers with a 503 and Retry-After, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import NamedTuple, cast

import redis
from flask import Flask, current_app, g

from mediation.domain.backoff import Backoff

EXTENSION = "mediation_shared_store"
# A worker whose clock runs a little behind still finds the period's key it is using.
PERIOD_GRACE_SECONDS = 300
# The previous period's key is kept this long into the next period, so that the gates
# counted under it still count (no fresh allowance at midnight): the longest gate window.
CARRY_SECONDS = 60 * 60
# Redis answers in a millisecond: a worker waits at most this long for it, not until
# gunicorn's timeout.
REDIS_TIMEOUT_SECONDS = 0.5


class StoreUnavailable(redis.RedisError):
    """The shared store did not give the period's key: answered as Redis being down."""


class GateName(NamedTuple):
    """What names a gate before it is hashed: its kind and what it counts (an address, a
    reference typed …)."""

    kind: str
    parts: tuple[str, ...]


class SharedStore(ABC):
    """Gates and period keys, the same for every worker of the app."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    @abstractmethod
    def period_secret(self, period: int, expires_at: float) -> bytes:
        """The random key of this period: made by the first worker to ask, then shared; gone
        at `expires_at` (a Unix time)."""

    @abstractmethod
    def existing_period_secret(self, period: int) -> bytes | None:
        """This period's key if it is still held; never makes one."""

    @abstractmethod
    def reserve(
        self,
        gates: Sequence[str],
        backoff: Backoff,
        now: float,
        carried: Sequence[str | None] = (),
    ) -> float:
        """Count one attempt on every gate at once, or on none: the seconds still to wait
        while any gate is waiting (nothing counted then), else 0 once all are counted.

        `carried`, beside `gates`, names each gate as the previous period counted it (or
        None): a live count there carries over (the larger count, the later attempt)."""

    @abstractmethod
    def release(self, gate: str) -> None:
        """Give back one counted attempt (it succeeded)."""

    @abstractmethod
    def forget(self, gate: str) -> None:
        """Clear a gate's count."""

    @abstractmethod
    def gate_names(self) -> list[str]:
        """Every gate held now (for tests and checks: they are digests only)."""


class MemoryStore(SharedStore):
    """One process's store: a lock makes each reservation atomic between its threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self._lock = threading.Lock()
        self._gates: dict[str, tuple[int, float, int]] = {}
        self._secrets: dict[int, tuple[bytes, float]] = {}
        self._next_sweep = 0.0

    def period_secret(self, period: int, expires_at: float) -> bytes:
        with self._lock:
            now = self.clock()
            for old in [p for p, (_, ends) in self._secrets.items() if ends <= now]:
                del self._secrets[old]
            found = self._secrets.get(period)
            if found is None:
                found = (secrets.token_bytes(32), expires_at)
                self._secrets[period] = found
            return found[0]

    def existing_period_secret(self, period: int) -> bytes | None:
        with self._lock:
            found = self._secrets.get(period)
            if found is None or found[1] <= self.clock():
                return None
            return found[0]

    def reserve(
        self,
        gates: Sequence[str],
        backoff: Backoff,
        now: float,
        carried: Sequence[str | None] = (),
    ) -> float:
        with self._lock:
            self._drop_stale(now)
            counts = []
            wait = 0.0
            olds = list(carried) or [None] * len(gates)
            for gate, old in zip(gates, olds, strict=True):
                failures, last_at, _ = self._gates.get(gate, (0, 0.0, 0))
                failures = backoff.live(failures, last_at, now)
                if old is not None:
                    old_failures, old_at, _ = self._gates.get(old, (0, 0.0, 0))
                    old_failures = backoff.live(old_failures, old_at, now)
                    if old_failures > 0:
                        failures = max(failures, old_failures)
                        last_at = max(last_at, old_at)
                counts.append(failures)
                wait = max(wait, backoff.wait(failures, last_at, now))
            if wait > 0:
                return wait
            for gate, failures in zip(gates, counts, strict=True):
                self._gates[gate] = (failures + 1, now, backoff.window_seconds)
            return 0.0

    def release(self, gate: str) -> None:
        with self._lock:
            failures, last_at, window = self._gates.get(gate, (0, 0.0, 0))
            if failures <= 1:
                self._gates.pop(gate, None)
            else:
                self._gates[gate] = (failures - 1, last_at, window)

    def forget(self, gate: str) -> None:
        with self._lock:
            self._gates.pop(gate, None)

    def gate_names(self) -> list[str]:
        with self._lock:
            return list(self._gates)

    def _drop_stale(self, now: float) -> None:
        # A sweep reads every gate: once a minute at most, not on every attempt.
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        stale = [
            gate for gate, (_, last_at, window) in self._gates.items() if now - last_at > window
        ]
        for gate in stale:
            del self._gates[gate]


# Read every gate, refuse if any still waits, else count the attempt on all of them: one
# script, so Redis runs it whole between any two other workers' commands.
_RESERVE = """
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local first = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
-- KEYS: the gates, then each gate under the previous period's key (or itself again).
local k = #KEYS / 2
local counts = {}
local wait = 0
local function live(key)
  local state = redis.call('HMGET', key, 'n', 't')
  local n = tonumber(state[1]) or 0
  local t = tonumber(state[2]) or 0
  if n > 0 and now - t > window then n = 0 end
  return n, t
end
for i = 1, k do
  local n, t = live(KEYS[i])
  local old_n, old_t = live(KEYS[k + i])
  if old_n > 0 then
    if old_n > n then n = old_n end
    if old_t > t then t = old_t end
  end
  counts[i] = n
  if n > 0 then
    local delay = 0
    if n >= free then delay = math.min(cap, first * (2 ^ math.min(n - free, 32))) end
    local left = t + delay - now
    if left > wait then wait = left end
  end
end
if wait > 0 then return tostring(wait) end
for i = 1, k do
  redis.call('HSET', KEYS[i], 'n', counts[i] + 1, 't', ARGV[1])
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000))
end
return '0'
"""

_RELEASE = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
if n <= 1 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'n', n - 1) end
return 1
"""


class RedisStore(SharedStore):
    """Redis, shared by every worker and host; each reservation is one Lua script."""

    def __init__(self, url: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.prefix = prefix
        self._reserve = self.client.register_script(_RESERVE)
        self._release = self.client.register_script(_RELEASE)

    def _gate(self, gate: str) -> str:
        return f"{self.prefix}/gate/{gate}"

    def period_secret(self, period: int, expires_at: float) -> bytes:
        key = f"{self.prefix}/client-key/{period}"
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, secrets.token_bytes(32), nx=True, pxat=int(expires_at * 1000))
            pipe.get(key)
            _, value = pipe.execute()
        if value is None:
            # Redis found `expires_at` already past: this worker's clock is behind Redis's
            # by more than the grace. Keep the key a grace from Redis's own now instead.
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(key, secrets.token_bytes(32), nx=True, px=PERIOD_GRACE_SECONDS * 1000)
                pipe.get(key)
                _, value = pipe.execute()
        if not isinstance(value, bytes):
            raise StoreUnavailable("The shared store gave no key for this period.")
        return value

    def existing_period_secret(self, period: int) -> bytes | None:
        value = self.client.get(f"{self.prefix}/client-key/{period}")
        return value if isinstance(value, bytes) else None

    def reserve(
        self,
        gates: Sequence[str],
        backoff: Backoff,
        now: float,
        carried: Sequence[str | None] = (),
    ) -> float:
        args: list[str | int] = [repr(now), backoff.free, backoff.first_seconds]
        args += [backoff.max_seconds, backoff.window_seconds]
        olds = list(carried) or [None] * len(gates)
        keys = [self._gate(gate) for gate in gates]
        keys += [
            self._gate(old if old is not None else gate)
            for gate, old in zip(gates, olds, strict=True)
        ]
        answer = self._reserve(keys=keys, args=args)
        return float(answer)

    def release(self, gate: str) -> None:
        self._release(keys=[self._gate(gate)])

    def forget(self, gate: str) -> None:
        self.client.delete(self._gate(gate))

    def gate_names(self) -> list[str]:
        start = len(self._gate(""))
        return [key.decode()[start:] for key in self.client.scan_iter(self._gate("*"))]


def make_store(config: dict[str, object]) -> SharedStore:
    """The store the settings name: Redis for a redis:// (or rediss://) URI, else memory."""
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri.startswith(("redis://", "rediss://")):
        prefix = "mediation"
        if config.get("RATELIMIT_KEY_PREFIX"):
            prefix = f"mediation/{config['RATELIMIT_KEY_PREFIX']}"
        return RedisStore(uri, prefix)
    if uri.startswith("memory://"):
        return MemoryStore()
    raise RuntimeError(
        "RATELIMIT_STORAGE_URI must be redis://, rediss:// or memory://: the sign-in gates "
        "and the client address key live there."
    )


def install(app: Flask) -> None:
    app.extensions[EXTENSION] = make_store(app.config)


def store() -> SharedStore:
    """This app's shared store."""
    return cast(SharedStore, current_app.extensions[EXTENSION])


def _carry(length: int) -> float:
    """How long a period's key outlives its period: the gates' longest window, and never
    more than a tenth of the period (tests use periods of seconds)."""
    return min(max(PERIOD_GRACE_SECONDS, CARRY_SECONDS), length / 10)


def _period_secret() -> bytes:
    shared = store()
    length = int(current_app.config["CLIENT_KEY_PERIOD"])
    period = int(shared.clock() // length)
    cached = g.get("client_key_period")
    if cached is not None and cached[0] == period:
        return cast(bytes, cached[1])
    secret = shared.period_secret(period, (period + 1) * length + _carry(length))
    g.client_key_period = (period, secret)
    return secret


def _previous_secret() -> bytes | None:
    """The previous period's key while gates counted under it may still count, else None."""
    shared = store()
    length = int(current_app.config["CLIENT_KEY_PERIOD"])
    now = shared.clock()
    period = int(now // length)
    if now - period * length >= _carry(length):
        return None
    return shared.existing_period_secret(period - 1)


def _digest(secret: bytes, kind: str, parts: Sequence[str]) -> str:
    message = "\x00".join(("client-digest", kind, *parts)).encode("utf-8", "surrogatepass")
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
    return f"{kind}:{digest}"


def client_digest(kind: str, *parts: str) -> str:
    """A keyed hash of what names a client (its address, with what it typed) under this
    period's random key: the same for every worker until the period ends, then unlinkable."""
    return _digest(_period_secret(), kind, parts)


def reserve_gates(names: Sequence[GateName], backoff: Backoff, now: float) -> float:
    """Reserve an attempt on these gates (SharedStore.reserve), the previous period's counts
    carried over while its key is kept: the seconds to wait, or 0 once counted."""
    previous = _previous_secret()
    gates = [client_digest(name.kind, *name.parts) for name in names]
    carried: list[str | None] = [
        None if previous is None else _digest(previous, name.kind, name.parts) for name in names
    ]
    return store().reserve(gates, backoff, now, carried)


def forget_gate(name: GateName) -> None:
    """Clear a gate's count, under this period's key and the previous one's."""
    previous = _previous_secret()
    store().forget(client_digest(name.kind, *name.parts))
    if previous is not None:
        store().forget(_digest(previous, name.kind, name.parts))


def release_gate(name: GateName) -> None:
    """Give back one attempt counted on a gate (it succeeded)."""
    store().release(client_digest(name.kind, *name.parts))
