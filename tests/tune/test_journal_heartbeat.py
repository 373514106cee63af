"""A journal file has no heartbeat of its own: adamkit's workers beat in a trial attribute, and a
trial whose beat went stale (its worker on another host gone) is failed and re-queued."""

from __future__ import annotations

import socket
import time

import pytest

optuna = pytest.importorskip("optuna")

from adamkit.tune import study as tune_study  # noqa: E402
from adamkit.tune.storage import open_storage  # noqa: E402


def _journal_study(tmp_path):
    store = open_storage(None, tmp_path)
    return optuna.create_study(study_name="s", storage=store.optuna), store


def _running_trial(st, worker: str, beat: float | None):
    trial = st.ask()
    trial.set_user_attr("slot", trial.number)
    trial.set_user_attr("worker", worker)
    trial.suggest_float("lr", 1e-4, 1.0, log=True)
    if beat is not None:
        trial.set_user_attr("beat", beat)
    return trial


def test_a_stale_beat_on_another_host_fails_and_requeues_the_trial(tmp_path):
    st, _ = _journal_study(tmp_path)
    other = f"not-{socket.gethostname()}:4242"  # a pid on another host cannot be looked up
    stale = _running_trial(st, other, beat=time.time() - 300)
    fresh = _running_trial(st, other, beat=time.time())
    tune_study.fail_dead_trials(st, tune_study.Liveness(database=False, interval=60, grace=120))
    states = {t.number: t.state for t in st.get_trials(deepcopy=False)}
    assert states[stale.number] == optuna.trial.TrialState.FAIL
    assert states[fresh.number] == optuna.trial.TrialState.RUNNING
    (retry,) = [t for t in st.get_trials(deepcopy=False) if t.user_attrs.get("retry_of") == stale.number]
    assert retry.state == optuna.trial.TrialState.WAITING
    assert retry.user_attrs["slot"] == stale.number
    assert retry.system_attrs["fixed_params"] == stale.params  # the same configuration, re-queued
    assert retry.user_attrs["retry_reason"].startswith("no heartbeat for 3")


def test_a_trial_that_never_beat_counts_from_its_start(tmp_path):
    st, _ = _journal_study(tmp_path)
    other = f"not-{socket.gethostname()}:4242"
    quiet = _running_trial(st, other, beat=None)
    liveness = tune_study.Liveness(database=False, interval=1, grace=2)
    tune_study.fail_dead_trials(st, liveness)
    assert st.get_trials(deepcopy=False)[quiet.number].state == optuna.trial.TrialState.RUNNING
    time.sleep(2.5)
    tune_study.fail_dead_trials(st, liveness)
    assert st.get_trials(deepcopy=False)[quiet.number].state == optuna.trial.TrialState.FAIL


def test_a_running_trial_beats_while_it_evaluates(tmp_path):
    st, _ = _journal_study(tmp_path)
    trial = st.ask()
    beats = []
    with tune_study.beating(trial, interval=0.2):
        for _ in range(6):  # the evaluation: the beat comes from the worker's thread
            time.sleep(0.2)
            beats.append(st.get_trials(deepcopy=False)[trial.number].user_attrs["beat"])
    assert len(set(beats)) >= 3 and beats == sorted(beats)
    last = st.get_trials(deepcopy=False)[trial.number].user_attrs["beat"]
    time.sleep(0.5)  # the thread stopped with the block: no beat after it
    assert st.get_trials(deepcopy=False)[trial.number].user_attrs["beat"] == last
