"""The race, phase and functions commands end to end (small runs), and their errors."""

import json

import pytest

from adamkit.cli import main
from adamkit.lab import functions as F


def test_race_writes_pictures_json_and_a_table(tmp_path, capsys):
    out = tmp_path / "race"
    rc = main(["race", "--function", "himmelblau", "--optimizers", "adam,sgd,momentum",
               "--steps", "60", "--start=-4,4", "--lr", "adam=0.01", "--out", str(out),
               "--quiet"])
    assert rc == 0
    for name in ("race.png", "loss.png", "surface.png", "race.json"):
        assert (out / name).stat().st_size > 1000, name
    report = json.loads((out / "race.json").read_text())
    assert set(report["optimizers"]) == {"adam", "sgd", "momentum"}
    adam = report["optimizers"]["adam"]
    for key in ("hyperparameters", "final_loss", "distance_to_nearest_minimum",
                "steps_to_tolerance", "diverged"):
        assert key in adam
    assert adam["hyperparameters"]["lr"] == 0.01 and adam["start"] == [-4.0, 4.0]
    assert report["optimizers"]["momentum"]["hyperparameters"]["momentum"] == 0.9
    table = capsys.readouterr().out
    assert "optimizer" in table and "momentum" in table and "race.png" in table


def test_race_on_the_1d_function_and_with_settings(tmp_path):
    out = tmp_path / "p"
    assert main(["race", "--function", "parabola", "--optimizers", "adam,sgd", "--lr", "0.1",
                 "--set", "beta1=0.8", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "race.json").read_text())
    assert report["steps"] == 50 and report["start"] == [8.0]
    assert report["optimizers"]["adam"]["hyperparameters"]["betas"] == [0.8, 0.999]
    assert not (out / "surface.png").exists()


def test_race_tune_reports_default_and_tuned(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["race", "--function", "quadratic", "--optimizers", "adam,sgd", "--steps", "40",
                 "--tune", "--budget", "16", "--tune-starts", "2", "--out", str(out),
                 "--quiet"]) == 0
    report = json.loads((out / "race.json").read_text())
    tuned = report["tuned"]["adam"]
    assert tuned["budget"]["runs"] == 32 and tuned["searched"] == ["lr", "beta1", "beta2"]
    assert tuned["tuned_score"] <= tuned["default_score"]  # the default is one of the candidates
    assert (out / "race_tuned.png").exists()
    assert "tuned lr" in capsys.readouterr().out


def test_race_animation_is_a_small_gif(tmp_path):
    out = tmp_path / "a"
    assert main(["race", "--function", "rosenbrock", "--optimizers", "adam,sgd", "--steps", "12",
                 "--animate", "--out", str(out), "--quiet"]) == 0
    gif = out / "race.gif"
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert gif.stat().st_size < 3_000_000


def test_phase_writes_diagram_and_json(tmp_path, capsys):
    out = tmp_path / "ph"
    assert main(["phase", "--function", "rosenbrock", "--optimizer", "sgd", "--steps", "100",
                 "--x", "lr=1e-5:1e-1:6:log", "--y", "momentum=0:0.9:3", "--out", str(out),
                 "--quiet"]) == 0
    report = json.loads((out / "phase.json").read_text())
    assert (out / "phase.png").stat().st_size > 1000
    assert report["x"]["name"] == "lr" and len(report["x"]["values"]) == 6
    assert len(report["final_loss"]) == 3 and len(report["final_loss"][0]) == 6
    # SGD on Rosenbrock diverges for the large learning rates, and those cells say so
    assert report["diverged"][0][-1] is True and report["final_loss"][0][-1] is None
    assert report["diverged"][0][0] is False
    assert report["diverged_count"] == sum(map(sum, report["diverged"]))
    assert "diverged" in capsys.readouterr().out


def test_functions_lists_every_function(capsys):
    assert main(["functions"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in F.names())
    assert main(["functions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in listed] == F.names()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["race", "--optimizers", "adam,adamm"], "unknown optimizer 'adamm'; valid: "),
        (["race", "--function", "rosenbrok"], "unknown function 'rosenbrok'; valid: ackley"),
        (["race", "--function", "x.__class__"], "attribute access"),
        (["race", "--lr", "nadam=0.1"], "unknown optimizer in --lr 'nadam'"),
        (["race", "--set", "beta3=1"], "--set beta3: no optimizer in the race has it"),
        (["race", "--start", "1,2,3"], "needs 2 number"),
        (["race", "--lr", "fast"], "--lr 'fast' must be comma-separated numbers"),
        (["race", "--lr", "0.1,0.2"], "--lr '0.1,0.2' must be one number, or NAME=LR"),
        (["phase", "--x", "lr=1:0:5"], "LOW < HIGH"),
        (["phase", "--y", "foo=0:1:3"], "unknown hyperparameter for adam 'foo'"),
        (["phase", "--optimizer", "sgd", "--y", "beta1=0:1:3"], "valid: dampening"),
        # the axis is named, not the optimizer's array of every cell's value
        (["phase", "--x", "lr=-1:1:5"], "axis 'lr=-1:1:5': adam's lr must lie in [0, inf)"),
        (["phase", "--y", "beta1=0:1.5:5"], "adam's beta1 must lie in [0, 1); got LOW 0, HIGH 1.5"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_race_refuses_an_earlier_run_and_overwrite_leaves_nothing_stale(tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["race", "--function", "quadratic", "--optimizers", "adam", "--steps", "5", "--out",
            str(out), "--quiet"]
    assert main([*argv, "--animate"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(argv) == 2  # typed twice: the first run is kept, byte for byte
    err = capsys.readouterr().err
    assert f"--out {out} holds an earlier run" in err and "--overwrite" in err
    assert err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (out / "notes.txt").write_text("mine")
    assert main([*argv, "--overwrite"]) == 0
    # the earlier run's GIF is gone (this run drew none); files that are not outputs stay
    assert "race.gif" in before and not (out / "race.gif").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "race.json").read_text())["files"] == sorted(
        p.name for p in out.iterdir() if p.name != "notes.txt")


def test_phase_refuses_an_earlier_run(tmp_path, capsys):
    argv = ["phase", "--steps", "3", "--x", "lr=0.01:0.1:2", "--y", "beta1=0:0.9:2", "--out",
            str(tmp_path), "--quiet"]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "holds an earlier run (phase.json, phase.png)" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


@pytest.mark.parametrize("argv", [
    ["race", "--function", "quadratic", "--optimizers", "adam,sgd", "--steps", "5"],
    ["phase", "--steps", "3", "--x", "lr=0.01:0.1:2", "--y", "beta1=0:0.9:2"],
])
def test_json_is_alone_on_stdout(tmp_path, capsys, argv):
    assert main([*argv, "--out", str(tmp_path / "o"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["steps"] in (3, 5)  # the whole of stdout is the JSON
    assert "wrote" in captured.err


def test_race_steps_beyond_memory_is_one_line_naming_the_limit(tmp_path, capsys, monkeypatch):
    from adamkit import resources

    monkeypatch.setattr(resources, "available_bytes", lambda: 2_000_000_000)
    assert main(["race", "--steps", "100000000", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--steps 100000000 (5 runs kept for the figures) needs ~" in err
    assert "more than the 2 GB available; at most 999,999 steps fit" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()
    # --tune keeps the default and the tuned run of each optimizer: twice the memory
    assert main(["race", "--steps", "600000", "--tune", "--out", str(tmp_path / "o")]) == 2
    assert "(10 runs kept" in capsys.readouterr().err
