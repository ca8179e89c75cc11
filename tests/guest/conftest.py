"""Run the pipeline once, while pytest collects the guest tests.

Collection needs the list of selftests that ran, so the build, the boot and
test_progs happen here, with pytest's output capture suspended so that the
steps' progress reaches the terminal.  A failing step does not abort the
session: it becomes the failure of test_pipeline (or, for the scheduler
boot, of test_schedulers_ran).  The build is shared: the selftests boot and
the scheduler boot (tests/guest/test_schedulers.py) go into one run record.
"""

import json

from harness import HarnessError
from harness.config import Settings
from harness.pipeline import Run

from harness.selftests import BASELINE
_outcome = {}


def _prepared(config):
    """Settings, the run record and the build, once per session."""
    if not _outcome:
        capman = config.pluginmanager.getplugin("capturemanager")
        with capman.global_and_fixture_disabled():
            settings = Settings()
            run = Run(settings)
            _outcome.update(settings=settings, run=run, boot=None, results=[], error=None,
                            prepared=False)
            try:
                run.prepare()
                _outcome["prepared"] = True
            except HarnessError as e:
                _outcome["error"] = str(e)
                run.finish(_outcome["error"])  # otherwise each boot writes the record
    return _outcome


def guest_outcome(config):
    """The selftests boot: its Boot and per-test results."""
    o = _prepared(config)
    if o["prepared"] and "selftests" not in o:
        o["selftests"] = True
        capman = config.pluginmanager.getplugin("capturemanager")
        with capman.global_and_fixture_disabled():
            try:
                o["boot"], o["results"] = o["run"].selftests()
            except HarnessError as e:
                o["error"] = str(e)
            o["run"].finish(o["error"])
    return o


def sched_outcome(config):
    """The scheduler boot: {"boot", "results", "same", "bench", "error"}."""
    o = _prepared(config)
    if "sched" not in o:
        s = o["sched"] = {"boot": None, "results": [], "same": None, "bench": {}, "error":
                          None if o["prepared"] else "the build failed (see test_pipeline)"}
        if o["prepared"]:
            capman = config.pluginmanager.getplugin("capturemanager")
            with capman.global_and_fixture_disabled():
                try:
                    s["boot"], s["results"], s["same"], s["bench"] = o["run"].schedulers()
                except HarnessError as e:
                    s["error"] = str(e)
                    o["run"].record["schedulers_error"] = str(e)
                o["run"].finish(o["error"])
    return o["sched"]


def load_baseline():
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else None
