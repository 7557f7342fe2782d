"""How much the fuzz tests try, one knob for all of them: PEREZVON_FUZZ_EXAMPLES (default 12,
so CI stays fast) scales the examples; the runs are derandomized, so a failure reproduces,
unless PEREZVON_FUZZ_RANDOM is set."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("PEREZVON_FUZZ_EXAMPLES", "12"))
RANDOM = bool(os.environ.get("PEREZVON_FUZZ_RANDOM"))


def fuzzing(max_examples: int) -> settings:
    """Hypothesis settings for a fuzz test: `max_examples` tries, no deadline, derandomized
    unless PEREZVON_FUZZ_RANDOM, no example database, no health check in the way."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
