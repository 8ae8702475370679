"""Claims: which worker trains which final run of a sweep folder, with a lease.

The mechanism lives in :mod:`droprune._claims` (torch-free, below every layer that uses it, so
that the query protocol takes the same claims for its query models); this module re-exports it
for the sweep and for code that imported it from here.
"""

from __future__ import annotations

from .._claims import (
    CLAIMS_FILE,
    DEFAULT_LEASE_SECONDS,
    LEASE_ENV,
    Claims,
    lease_seconds,
    new_worker_id,
    process_alive,
    this_host,
)

__all__ = ["CLAIMS_FILE", "Claims", "DEFAULT_LEASE_SECONDS", "LEASE_ENV", "lease_seconds",
           "new_worker_id", "process_alive", "this_host"]
