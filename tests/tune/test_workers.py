"""Many workers, one study in a real PostgreSQL server: exact counts, no duplicates, a killed
worker's trial failed by heartbeat and re-run by the others."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from tests.tune.conftest import free_port, run_tune, tune_command, tune_env

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg2")

TRIALS = 12


def _study(url: str, name: str):
    """(study, storage) once a worker has made the study, else (None, None)."""
    from sqlalchemy.exc import SQLAlchemyError

    storage = None
    try:  # skip_table_creation: the workers create the tables; a third party would race them
        storage = optuna.storages.RDBStorage(url, skip_table_creation=True,
                                             skip_compatibility_check=True)
        return optuna.load_study(study_name=name, storage=storage), storage
    except (KeyError, SQLAlchemyError, optuna.exceptions.OptunaError):
        if storage is not None:
            storage.engine.dispose()
        return None, None


def _a_running_trial(url: str, name: str, pids: list[int]):
    """(pid, trial number) of a trial some worker in ``pids`` is evaluating, or None."""
    study, storage = _study(url, name)
    if study is None:
        return None
    try:
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            # once it has its parameters: from then on the trial is evaluating
            pid = str(t.user_attrs.get("worker", "")).rpartition(":")[2]
            if pid.isdigit() and int(pid) in pids and t.params:
                return int(pid), t.number
        return None
    finally:
        storage.engine.dispose()


def test_three_workers_share_one_study_and_a_killed_workers_trial_is_rerun(postgres, tmp_path):
    args = ["--function", "rosenbrock", "--steps", "20000", "--optimizers", "adam",
            "--lr", "1e-4:1", "--trials", str(TRIALS), "--storage", postgres, "--study", "three",
            "--heartbeat", "1", "--grace", "5", "--quiet", "--no-plots"]
    workers = [subprocess.Popen(tune_command(*args, "--out", str(tmp_path / f"w{i}")),
                                cwd=tmp_path, env=tune_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(3)]
    try:
        found = None
        deadline = time.time() + 90
        while found is None and time.time() < deadline:
            found = _a_running_trial(postgres, "three:adam", [w.pid for w in workers])
            if found is None:
                time.sleep(0.02)
        if found is None:
            for w in workers:
                w.kill()
            pytest.fail("no worker ran a trial: " + " | ".join(w.communicate()[1][-800:]
                                                             for w in workers))
        victim_pid, killed = found
        victim = next(w for w in workers if w.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)  # mid-trial: no chance to tell the study anything
        victim.communicate()  # reaps it and closes its pipes
        for w in workers:
            if w is not victim:
                _, err = w.communicate(timeout=180)
                assert w.returncode == 0, err
    finally:
        for w in workers:  # whatever failed above, leave no process or pipe behind
            if w.poll() is None:
                w.kill()
            w.communicate()

    study, storage = _study(postgres, "three:adam")
    try:
        trials = study.get_trials(deepcopy=False)
    finally:
        storage.engine.dispose()
    states = optuna.trial.TrialState
    complete = [t for t in trials if t.state == states.COMPLETE]
    assert len(complete) == TRIALS  # exact, though three workers raced for the last slots
    assert sorted(t.user_attrs["slot"] for t in complete) == list(range(TRIALS))
    assert len({t.params["lr"] for t in complete}) == TRIALS  # no configuration ran twice
    assert not [t for t in trials if t.state in (states.RUNNING, states.WAITING)]
    dead = trials[killed]
    assert dead.state == states.FAIL and not dead.user_attrs.get("surplus")
    rerun = [t for t in complete if t.user_attrs.get("retry_of") == killed]
    assert len(rerun) == 1 and rerun[0].user_attrs["retry_reason"] == "heartbeat"
    assert rerun[0].params == dead.params and rerun[0].user_attrs["slot"] == dead.user_attrs["slot"]
    workers_seen = {t.user_attrs["worker"] for t in complete}
    assert len(workers_seen) >= 2  # the survivors shared the work


def test_an_unreachable_database_is_one_line(tmp_path):
    url = f"postgresql://adamkit@127.0.0.1:{free_port()}/nowhere"
    done = run_tune("--function", "booth", "--trials", "2", "--storage", url, "--out",
                    str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"adamkit: error: cannot reach database {url}")


@pytest.mark.parametrize("url", ["postgres:/nohost", "redis://127.0.0.1/0", "postgresql://"])
def test_a_malformed_storage_url_is_one_line_naming_it(tmp_path, url):
    done = run_tune("--function", "booth", "--trials", "2", "--storage", url, "--out",
                    str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "malformed storage URL" in done.stderr and repr(url) in done.stderr


def test_tune_json_keeps_no_password_and_resume_asks_for_it(postgres, tmp_path):
    url = postgres.replace("postgres@", "postgres:secret@")  # trust auth: any password works
    out = tmp_path / "t"
    done = run_tune("--function", "booth", "--steps", "10", "--trials", "3", "--storage", url,
                    "--study", "pw", "--out", str(out), "--quiet", "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "secret" not in (out / "tune.json").read_text()
    again = run_tune("--out", str(out), "--resume", cwd=tmp_path)
    assert again.returncode == 2 and "with its password" in again.stderr
    again = run_tune("--out", str(out), "--resume", "--storage", url, "--trials", "4", "--quiet",
                     "--no-plots", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert sum('"state": "complete"' in line for line in lines) == 4
