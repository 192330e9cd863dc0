"""Benchmarks: they read the dev sets beside the checkout, which tests never do.

Each benchmark takes another folder as an option; these are its defaults.
"""

from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SROIE = DATA_ROOT / "sroie-dev"
