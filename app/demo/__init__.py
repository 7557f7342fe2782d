"""The demo generator (`perezvon demo seed`, benchmarks, trying the bot): not part of core.

`seed` writes realistic data at any size (app/demo/seed.py) from the word tables of
app/demo/data.py.
"""

from app.demo.data import (
    COMPANY_HEADS,
    COMPANY_TAILS,
    COMPANY_WORDS,
    MOBILE_CODES,
    SURNAMES,
    translit,
)
from app.demo.seed import SeedReport, seed

__all__ = [
    "COMPANY_HEADS",
    "COMPANY_TAILS",
    "COMPANY_WORDS",
    "MOBILE_CODES",
    "SURNAMES",
    "SeedReport",
    "seed",
    "translit",
]
