"""``adamkit bench``: the table, the JSON, and one-line errors (quick sizes, no timing asserts)."""

import json

import pytest

from adamkit.bench import measure
from adamkit.cli import main


def test_bench_json_has_every_contender_with_ratios_and_state_bytes(capsys, tmp_path):
    code = main(["bench", "--preset", "many-small", "--quick", "--rounds", "2", "--warmup", "1",
                 "--json", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    blob = json.loads(capsys.readouterr().out)
    assert json.loads((tmp_path / "bench.json").read_text()) == blob
    (result,) = blob["results"]
    assert result["preset"] == "many-small" and result["params"] == 200_000
    by_name = {r["name"]: r for r in result["results"]}
    assert set(by_name) == {"torch-forloop", "torch-foreach", "torch-fused", "adamkit-fp32",
                            "adamkit-bf16", "adamkit-8bit"}
    assert by_name["torch-fused"]["ratio_to_torch_fused"] == 1.0
    assert by_name["adamkit-fp32"]["path"] == "fused engine"
    assert by_name["adamkit-fp32"]["state_bytes_per_param"] == 8.0
    assert by_name["adamkit-bf16"]["state_bytes_per_param"] == 4.0
    # 1,000-element tensors are below the 8-bit threshold: their states stay fp32
    assert by_name["adamkit-8bit"]["state_bytes_per_param"] == 8.0
    assert all(r["median_ms"] > 0 and r["gbps"] > 0 for r in result["results"])
    assert result["copy_gbps"] > 0


def test_bench_table_for_a_training_iteration(capsys):
    code = main(["bench", "--preset", "mlp", "--quick", "--rounds", "2", "--warmup", "0",
                 "--contenders", "adamkit-8bit", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "adamkit-8bit" in out and "torch-fused" in out and "x fused" in out


@pytest.mark.parametrize("argv, message", [
    (["--preset", "huge"], "unknown preset 'huge'; valid: all, big, many-small, mlp, transformer"),
    (["--contenders", "adam"], "unknown contender 'adam'; valid: adamkit-8bit"),
    (["--rounds", "0"], "--rounds must be >= 1, got 0"),
    (["--preset", ""], "unknown preset ''; valid: all, big, many-small, mlp, transformer"),
    (["--preset", ","], "unknown preset ','; valid: all, big"),
    (["--threads", "0"], "--threads must be >= 1 and <= 256, got 0"),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, message):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_paired_medians_time_every_contender_every_round():
    calls = []
    result = measure.paired_medians({"a": lambda: calls.append("a"),
                                     "b": lambda: calls.append("b")}, rounds=4, warmup=1,
                                    quiet=True)
    assert calls.count("a") == calls.count("b") == 5
    assert calls[:4] == ["a", "b", "b", "a"]  # rotating order
    assert len(result["a"]["samples_s"]) == 4
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        measure.paired_medians({"a": lambda: None}, rounds=0, warmup=0)


def test_bench_says_its_memory_and_refuses_what_does_not_fit(capsys, monkeypatch):
    from adamkit import resources
    from adamkit.bench import presets

    # the transformer preset's estimate is close to the ~7.4 GB a full run was measured to need
    assert 6.5e9 < presets.memory_bytes(presets.get("transformer"), 6) < 8e9
    monkeypatch.setattr(resources, "available_bytes", lambda: 3_000_000_000)
    assert main(["bench", "--preset", "many-small,transformer", "--rounds", "1"]) == 2
    err = capsys.readouterr().err
    assert "bench: needs ~7.26 GB of memory (transformer, 6 contenders)" in err
    assert ("error: --preset transformer with 6 contenders needs ~7.26 GB of memory, more than "
            "the 3 GB available; choose a smaller preset (many-small), fewer --contenders, or "
            "--quick") in err


def test_bench_refuses_an_earlier_bench_json(capsys, tmp_path):
    (tmp_path / "bench.json").write_text("{}")
    assert main(["bench", "--preset", "many-small", "--quick", "--out", str(tmp_path)]) == 2
    assert "holds an earlier run (bench.json); --overwrite" in capsys.readouterr().err
    assert (tmp_path / "bench.json").read_text() == "{}"
