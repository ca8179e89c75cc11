"""Run the whole pipeline once, while pytest collects the guest tests.

Collection needs the list of selftests that ran, so the build, the boot and
test_progs happen here, with pytest's output capture suspended so that the
steps' progress reaches the terminal.  A failing step does not abort the
session: it becomes the failure of test_pipeline.
"""

import json
from pathlib import Path

from harness import HarnessError
from harness.config import Settings
from harness.pipeline import Run

from harness.selftests import BASELINE
_outcome = {}


def guest_outcome(config):
    if _outcome:
        return _outcome
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled():
        settings = Settings()
        run = Run(settings)
        _outcome.update(settings=settings, run=run, boot=None, results=[], error=None)
        try:
            run.prepare()
            _outcome["boot"], _outcome["results"] = run.selftests()
        except HarnessError as e:
            _outcome["error"] = str(e)
        run.finish(_outcome["error"])
    return _outcome


def load_baseline():
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else None
