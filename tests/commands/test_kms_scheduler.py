"""`manage.py kms_scheduler`: a pass every interval until SIGTERM/SIGINT, then a clean exit."""

import os
import signal
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kms.durations import parse_duration
from kms.management.commands import kms_scheduler
from kms.models import Key
from kms.services.scheduler import scheduler_pass

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def connection_hygiene(monkeypatch):
    """Between passes the command drops stale connections; inside a test's transaction that
    would only poison it, so the calls are counted instead."""
    calls = []
    monkeypatch.setattr(kms_scheduler, "close_old_connections", lambda: calls.append(1))
    return calls


def run(**options) -> str:
    out = StringIO()
    call_command("kms_scheduler", stdout=out, **options)
    return out.getvalue()


def test_it_runs_a_pass_every_interval_up_to_max_passes(monkeypatch, clock, create_key, connection_hygiene):
    create_key("hourly", rotation_period=parse_duration("1h"))
    clock.advance(timedelta(hours=1))
    waits = []
    monkeypatch.setattr(kms_scheduler.threading.Event, "wait", lambda self, t: waits.append(t))

    output = run(interval=60, max_passes=3)

    assert "pass 1: rotated 1 key(s): hourly v2 (period)" in output
    assert "pass 2" not in output  # nothing happened: quiet at the default verbosity
    assert output.endswith("scheduler stopped after 3 pass(es)\n")
    assert len(waits) == 2 and all(0 < t <= 60 for t in waits)  # none after the last pass
    assert Key.objects.get().current_version == 2
    assert len(connection_hygiene) == 6  # before and after each pass


def test_every_pass_is_shown_at_verbosity_2(clock):
    output = run(interval=0, max_passes=2, verbosity=2)
    assert "pass 1: nothing was due" in output and "pass 2: nothing was due" in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_it_after_the_pass_under_way(monkeypatch, clock, signum):
    before = signal.getsignal(signum)
    passes = []

    def pass_that_gets_signalled(**kwargs):
        passes.append(1)
        signal.raise_signal(signum)  # delivered mid-pass, as `systemctl stop` would
        return scheduler_pass(**kwargs)

    monkeypatch.setattr(kms_scheduler, "scheduler_pass", pass_that_gets_signalled)
    output = run(interval=3600)  # would wait an hour if the signal were lost

    assert passes == [1]
    assert output.endswith("scheduler stopped after 1 pass(es)\n")
    assert signal.getsignal(signum) == before


def test_sigterm_while_it_waits_for_the_next_pass_ends_it_at_once(monkeypatch, clock):
    def pass_then_terminate_soon(**kwargs):
        # From another thread, once this pass is over and the loop waits (real delivery).
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return scheduler_pass(**kwargs)

    monkeypatch.setattr(kms_scheduler, "scheduler_pass", pass_then_terminate_soon)
    started = time.monotonic()
    output = run(interval=5, max_passes=2)  # a lost signal would show as a second pass

    assert output.endswith("scheduler stopped after 1 pass(es)\n")
    assert time.monotonic() - started < 4


def test_a_pass_that_crashes_does_not_stop_the_loop(monkeypatch, clock):
    def crash(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(kms_scheduler, "scheduler_pass", crash)
    err = StringIO()
    call_command("kms_scheduler", interval=0, max_passes=2, stdout=StringIO(), stderr=err)
    assert err.getvalue().count("crashed: RuntimeError") == 2


def test_a_negative_interval_is_refused():
    with pytest.raises(CommandError):
        run(interval=-1, max_passes=1)
