"""Shared pytest configuration: hypothesis profiles.

* ``ci`` (the default): no deadline (cleanlab and polars calls have unpredictable latency on a busy
  machine) and a bounded number of examples, so the suite stays fast.
* ``fuzz``: many more examples, for a long local run::

      HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_parity.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=_SLOW_DATA,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
