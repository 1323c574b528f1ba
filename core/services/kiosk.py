"""Kiosk consoles: PIN hashes, the guard against guessing, and the kiosk loop.

A kiosk console runs ``backdesk --kiosk`` (or ``kiosk.enabled: true``) under
systemd or as the console's login shell. The operator cannot leave the app
(no quit or suspend key, no palette entry that exits); they open it with
their account and PIN, and it locks after ``kiosk.idle_lock_minutes``.

PIN hashes (``operators.<account>.pin_hash``, made by ``backdesk kiosk
pin-hash``) read::

    scrypt$16384$8$1$<salt, base64>$<hash, base64>

that is hashlib.scrypt with n=16384, r=8, p=1, a 16-byte random salt and a
32-byte key. Verification compares in constant time.

Wrong PINs: :class:`PinGuard` makes the operator wait before the next try,
1 s after the first failure and doubling up to 30 s, and after
``kiosk.max_pin_attempts`` failures in a row refuses every PIN for
:data:`LOCKOUT_SECONDS`. The guard counts per console (every account
together), so guessing through many accounts is slowed the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from core.i18n import _

SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
#: first delay after a wrong PIN, doubling per failure up to MAX_DELAY
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
#: how long a console refuses PINs after max_pin_attempts failures
LOCKOUT_SECONDS = 300.0
MIN_PIN_LENGTH = 4


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``pin`` in the format above."""
    if not pin or len(pin) < MIN_PIN_LENGTH:
        raise ValueError(f"a PIN needs at least {MIN_PIN_LENGTH} characters")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


_DUMMY = None


def verify_pin(pin: str, stored: str | None) -> bool:
    """True when ``pin`` matches ``stored``; False for no or a malformed hash.

    Without a usable hash a dummy hash is computed anyway, so the time taken
    does not tell which accounts have a PIN.
    """
    global _DUMMY
    try:
        scheme, n, r, p, salt, key = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError
        n, r, p = int(n), int(r), int(p)
        salt_b, key_b = base64.b64decode(salt, validate=True), base64.b64decode(key, validate=True)
        if not (2 <= n <= 1 << 20 and 1 <= r <= 32 and 1 <= p <= 16 and key_b):
            raise ValueError
    except ValueError:
        if _DUMMY is None:
            _DUMMY = hash_pin("0000")
        verify_pin(pin or "x", _DUMMY)
        return False
    got = hashlib.scrypt((pin or "").encode(), salt=salt_b, n=n, r=r, p=p, dklen=len(key_b),
                         maxmem=128 * r * n * p + (1 << 20))
    return hmac.compare_digest(got, key_b)


@dataclass
class PinGuard:
    """Slows down PIN guessing on one console (see the module docstring)."""

    max_attempts: int = 5
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    lockout: float = LOCKOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    not_before: float = 0.0
    delays: list[float] = field(default_factory=list)  # every wait imposed, for the log and tests

    def wait(self) -> float:
        """Seconds until the next PIN is accepted (0: now)."""
        return max(0.0, self.not_before - self.clock())

    @property
    def locked_out(self) -> bool:
        return self.failures >= self.max_attempts and self.wait() > 0

    def failed(self) -> float:
        """Record a wrong PIN; returns the wait imposed before the next try."""
        self.failures += 1
        if self.failures >= self.max_attempts:
            delay = self.lockout
        else:
            delay = min(self.max_delay, self.first_delay * 2 ** (self.failures - 1))
        self.not_before = self.clock() + delay
        self.delays.append(delay)
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0

    def after_lockout(self) -> None:
        """A lockout ran out: the operator gets a fresh round of attempts."""
        if self.failures >= self.max_attempts and self.wait() == 0:
            self.failures = 0


def check_login(config, account: str, pin: str, guard: PinGuard) -> tuple[bool, str]:
    """Try ``account`` + ``pin`` through ``guard``: (ok, message for the operator)."""
    guard.after_lockout()
    wait = guard.wait()
    if wait > 0:
        return False, _("Wait {n} s before the next try.").format(n=int(wait + 0.999))
    op = config.operators.get((account or "").strip())
    ok = verify_pin(pin, op.pin_hash if op is not None else None)
    if ok:
        guard.succeeded()
        return True, ""
    delay = guard.failed()
    if guard.failures >= guard.max_attempts:
        return False, _("Too many wrong PINs: this console takes no PIN for {n} minutes.").format(
            n=max(1, round(delay / 60)))
    return False, _("Wrong operator or PIN. Try again in {n} s.").format(n=int(delay + 0.999))


def kiosk_settings(config, forced: bool = False):
    """The kiosk settings in force, or None when this is no kiosk."""
    return config.kiosk if (forced or config.kiosk.enabled) else None


#: the PIN of every demo operator on ``backdesk --demo --kiosk`` (the demo's
#: own folder only: never an office's operators)
DEMO_PIN = "1234"


def with_demo_pins(config):
    """``config`` with :data:`DEMO_PIN` for every operator that has no PIN,
    and the line the login screen shows about it."""
    demo_hash = hash_pin(DEMO_PIN)
    operators = {login: op if op.pin_hash else replace(op, pin_hash=demo_hash)
                 for login, op in config.operators.items()}
    hint = _("Demo: operator {names}, PIN {pin}").format(names=", ".join(sorted(operators)), pin=DEMO_PIN)
    return replace(config, operators=operators), hint
