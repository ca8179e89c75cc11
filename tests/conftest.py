import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GUEST = Path(__file__).resolve().parent / "guest"
KNOBS = ("VARIANT", "ACCEL", "TOOLCHAIN", "LINUX_TREE", "LINUX_BASE", "TESTS",
         "ALWAYS_TESTS", "SERIES", "SCHEDS")


@pytest.fixture(autouse=True)
def no_knobs(request, monkeypatch):
    """Fast tests see no knobs: make exports the run's (VARIANT=debug,
    SERIES=none...) to all of pytest, and only tests/guest acts on them."""
    if GUEST not in Path(request.node.path).parents:
        for var in KNOBS:
            monkeypatch.delenv(var, raising=False)
