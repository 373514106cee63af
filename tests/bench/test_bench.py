"""``adamkit bench``: the table, the JSON, and one-line errors (quick sizes, no timing asserts).

Nothing here needs a GPU: ``--device cuda``'s argument handling, contender selection and
not-installed lines are tested with stand-in modules; DeepSpeed's row runs where deepspeed is
installed (its first use JIT-builds a C++ op, about a minute).
"""

import importlib.util
import json
import sys
import types

import pytest
import torch

from adamkit.bench import contenders, measure
from adamkit.cli import main

ADAM = {"torch-forloop", "torch-foreach", "torch-fused", "adamkit-fp32", "adamkit-bf16",
        "adamkit-8bit"}
SIX = ",".join(sorted(ADAM))


@pytest.fixture
def fake_imports(monkeypatch):
    """Replace contenders' imports: ``fake_imports({"bitsandbytes": module or None, ...})``; None
    is "not installed"; names not given import as usual. Availability is re-checked."""
    real = contenders._import

    def install(modules: dict):
        def fake(name):
            for prefix, module in modules.items():
                if name == prefix or name.startswith(prefix + "."):
                    if module is None:
                        raise ModuleNotFoundError(f"No module named {prefix!r}", name=prefix)
                    return module(name) if callable(module) else module
            return real(name)
        monkeypatch.setattr(contenders, "_import", fake)
        contenders.missing.cache_clear()
    yield install
    contenders.missing.cache_clear()


@pytest.fixture
def threads_back():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_bench_json_has_every_contender_with_ratios_and_state_bytes(capsys, tmp_path,
                                                                    fake_imports):
    fake_imports({"deepspeed": None})
    code = main(["bench", "--preset", "many-small", "--quick", "--rounds", "2", "--warmup", "1",
                 "--json", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    captured = capsys.readouterr()
    blob = json.loads(captured.out)
    assert json.loads((tmp_path / "bench.json").read_text()) == blob
    # DeepSpeed not installed: one line, with the way to install it, and the run goes on
    line = ('bench: deepspeed-cpu left out: deepspeed is not installed (pip install -c '
            'constraints.txt -e ".[bench]")')
    assert captured.err.count("deepspeed-cpu") == 1 and line in captured.err
    assert "deepspeed-cpu" in blob["left_out"]
    (result,) = blob["results"]
    assert result["preset"] == "many-small" and result["params"] == 200_000
    by_name = {r["name"]: r for r in result["results"]}
    sgd_here = contenders.missing("adamkit-sgd-fused", "cpu") is None
    adagrad_here = contenders.missing("adamkit-adagrad-fused", "cpu") is None
    assert set(by_name) == ADAM | {"torch-sgd-fused", "torch-adagrad-fused"} | (
        {"adamkit-sgd-fused"} if sgd_here else set()) | (
        {"adamkit-adagrad-fused"} if adagrad_here else set())
    assert ("adamkit fused SGD not available" in captured.err) is not sgd_here
    assert ("adamkit fused Adagrad not available" in captured.err) is not adagrad_here
    assert by_name["torch-fused"]["ratio_to_torch_fused"] == 1.0
    for name, anchor in [("torch-fused", "torch-fused"), ("adamkit-8bit", "torch-fused"),
                         ("torch-sgd-fused", "torch-sgd-fused"),
                         ("torch-adagrad-fused", "torch-adagrad-fused")]:
        assert by_name[name]["anchor"] == anchor
    for anchor in ("torch-fused", "torch-sgd-fused", "torch-adagrad-fused"):
        assert by_name[anchor]["ratio_to_anchor"] == 1.0
    ratio = by_name["torch-sgd-fused"]["median_ms"] / by_name["torch-fused"]["median_ms"]
    assert by_name["torch-sgd-fused"]["ratio_to_torch_fused"] == pytest.approx(ratio)
    assert by_name["torch-sgd-fused"]["state_bytes_per_param"] == 4.0  # the momentum buffer
    assert by_name["torch-adagrad-fused"]["state_bytes_per_param"] == 4.0  # the sum
    assert by_name["adamkit-fp32"]["path"] == "fused engine"
    assert by_name["adamkit-fp32"]["state_bytes_per_param"] == 8.0
    assert by_name["adamkit-bf16"]["state_bytes_per_param"] == 4.0
    # 1,000-element tensors are below the 8-bit threshold: their states stay fp32
    assert by_name["adamkit-8bit"]["state_bytes_per_param"] == 8.0
    assert all(r["median_ms"] > 0 and r["gbps"] > 0 for r in result["results"])
    assert result["copy_gbps"] > 0
    for r in result["results"]:  # every row: GB/s and its fraction of the copy's, same run
        assert r["copy_fraction"] == pytest.approx(r["gbps"] / result["copy_gbps"])
    # all of many-small's tensors are under 4,096 elements: the 8-bit target is missed, and said
    assert result["state_target"] == {"name": "adamkit-8bit", "bytes_per_param": 8.0,
                                      "target": 2.1, "met": False, "small_tensor_share": 1.0}


def test_bench_table_for_a_training_iteration(capsys):
    code = main(["bench", "--preset", "mlp", "--quick", "--rounds", "2", "--warmup", "0",
                 "--contenders", "adamkit-8bit", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "adamkit-8bit" in out and "torch-fused" in out and "x fused" in out
    row = next(line for line in out.splitlines() if line.startswith("adamkit-8bit "))
    assert row.split()[3:5] == ["-", "-"]  # no GB/s for a whole training iteration


def test_eight_bit_state_bytes_against_the_target_in_the_table(capsys):
    assert main(["bench", "--preset", "big", "--quick", "--rounds", "1", "--warmup", "0",
                 "--contenders", "adamkit-8bit", "--quiet"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("adamkit-8bit state:"))
    bytes_per_param = float(line.split()[2])
    assert bytes_per_param <= 2.1 and line.endswith("(target <= 2.1: met)")
    assert "x copy" in out and "copy (ref.)" in out


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
    assert main(["bench", "--preset", "many-small,transformer", "--rounds", "1",
                 "--contenders", SIX]) == 2
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


# --- SGD and Adagrad: against torch's fused step of the same optimizer --------------------------

def test_adamkit_fused_sgd_refused_is_one_line_and_the_run_goes_on(capsys, monkeypatch):
    import adamkit.torch as ak

    class Refuses(ak.SGD):
        def __init__(self, *args, fused=None, **kwargs):
            if fused:
                raise RuntimeError("SGD: fused=True, but adamkit's fused engine has no kernel")
            super().__init__(*args, fused=fused, **kwargs)

    monkeypatch.setattr(ak, "SGD", Refuses)
    contenders.missing.cache_clear()
    try:
        assert main(["bench", "--preset", "big", "--quick", "--rounds", "1", "--warmup", "0",
                     "--contenders", "adamkit-sgd-fused", "--json", "--quiet"]) == 0
    finally:
        contenders.missing.cache_clear()
    captured = capsys.readouterr()
    assert captured.err.count("adamkit fused SGD not available") == 1
    rows = {r["name"]: r for r in json.loads(captured.out)["results"][0]["results"]}
    assert set(rows) == {"torch-fused", "torch-sgd-fused"}  # torch's SGD still timed
    assert rows["torch-sgd-fused"]["copy_fraction"] > 0


def test_adamkit_sgd_and_adagrad_rows_are_against_torchs_fused_sgd_and_adagrad(capsys,
                                                                             monkeypatch):
    # Stand-ins that take fused=True on the per-tensor path: the rows' plumbing, whether or not
    # adamkit's fused SGD and Adagrad kernels are in this tree.
    import adamkit.torch as ak

    for name in ("SGD", "Adagrad"):
        real = getattr(ak, name)
        monkeypatch.setattr(ak, name, type(name, (real,), {
            "__init__": lambda self, *a, fused=None, _real=real, **k: _real.__init__(
                self, *a, fused=False, **k)}))
    contenders.missing.cache_clear()
    try:
        assert main(["bench", "--preset", "mlp", "--quick", "--rounds", "2", "--warmup", "0",
                     "--contenders", "adamkit-sgd-fused,adamkit-adagrad-fused", "--json",
                     "--quiet"]) == 0
    finally:
        contenders.missing.cache_clear()
    captured = capsys.readouterr()
    assert "not available" not in captured.err
    result = json.loads(captured.out)["results"][0]
    rows = {r["name"]: r for r in result["results"]}
    assert list(rows) == ["torch-fused", "torch-sgd-fused", "adamkit-sgd-fused",
                          "torch-adagrad-fused", "adamkit-adagrad-fused"]
    assert rows["adamkit-sgd-fused"]["anchor"] == "torch-sgd-fused"
    assert rows["adamkit-sgd-fused"]["ratio_to_anchor"] == pytest.approx(
        rows["adamkit-sgd-fused"]["median_ms"] / rows["torch-sgd-fused"]["median_ms"])
    assert rows["adamkit-adagrad-fused"]["ratio_to_anchor"] == pytest.approx(
        rows["adamkit-adagrad-fused"]["median_ms"] / rows["torch-adagrad-fused"]["median_ms"])
    assert rows["adamkit-sgd-fused"]["state_bytes_per_param"] == 4.0
    assert result["anchors"] == {"adam": "torch-fused", "sgd": "torch-sgd-fused",
                                 "adagrad": "torch-adagrad-fused"}


# --- DeepSpeed ----------------------------------------------------------------------------------

def test_deepspeeds_op_load_keeps_torchs_threads_and_stdout(capfd, monkeypatch, fake_imports,
                                                            threads_back):
    built = []

    class Builder:
        def load(self):  # what a misbehaving build could do: print, change torch's threads
            print("building cpu_adam ...")
            sys.stdout.flush()
            torch.set_num_threads(1)
            built.append(True)

    class CPUAdam(torch.optim.Adam):
        def __init__(self, params, lr=1e-3, adamw_mode=True):
            assert adamw_mode is False
            torch.set_num_threads(1)
            super().__init__(params, lr=lr)

    fake_imports({"deepspeed.ops.adam": types.SimpleNamespace(DeepSpeedCPUAdam=CPUAdam),
                  "deepspeed.ops.op_builder": types.SimpleNamespace(CPUAdamBuilder=Builder)})
    monkeypatch.setattr(contenders, "_DEEPSPEED", [])
    torch.set_num_threads(2)
    names, notes = contenders.prepare(["torch-fused", "deepspeed-cpu"])
    assert names == ["torch-fused", "deepspeed-cpu"] and notes == {} and built
    opt = contenders.make("deepspeed-cpu", [torch.nn.Parameter(torch.zeros(3))])
    assert isinstance(opt, CPUAdam)
    assert torch.get_num_threads() == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert "building cpu_adam" in err and "bench: deepspeed-cpu: loading DeepSpeed's" in err


def test_a_deepspeed_op_that_does_not_build_is_left_out(capsys, monkeypatch, fake_imports):
    class Builder:
        def load(self):
            raise RuntimeError("Error building extension 'cpu_adam'\nninja: build stopped")

    fake_imports({"deepspeed.ops.adam": types.SimpleNamespace(DeepSpeedCPUAdam=object),
                  "deepspeed.ops.op_builder": types.SimpleNamespace(CPUAdamBuilder=Builder)})
    monkeypatch.setattr(contenders, "_DEEPSPEED", [])
    names, notes = contenders.prepare(["torch-fused", "deepspeed-cpu"], quiet=True)
    assert names == ["torch-fused"]
    assert notes == {"deepspeed-cpu": "deepspeed-cpu left out: DeepSpeed's cpu_adam op did not "
                                      "build or load (RuntimeError: Error building extension "
                                      "'cpu_adam')"}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                    reason="deepspeed not installed (the bench extra)")
def test_deepspeed_cpu_row_in_a_real_run(capsys, threads_back):
    # The first use JIT-builds DeepSpeed's C++ op (~1 min on 2 cores); cached after.
    assert main(["bench", "--preset", "big", "--quick", "--rounds", "2", "--warmup", "1",
                 "--contenders", "deepspeed-cpu,adamkit-fp32", "--threads", "1", "--json",
                 "--quiet"]) == 0
    captured = capsys.readouterr()
    blob = json.loads(captured.out)  # DeepSpeed's own messages went to stderr
    rows = {r["name"]: r for r in blob["results"][0]["results"]}
    assert set(rows) == {"torch-fused", "adamkit-fp32", "deepspeed-cpu"}
    assert rows["deepspeed-cpu"]["path"].startswith("deepspeed cpu_adam")
    assert rows["deepspeed-cpu"]["state_bytes_per_param"] == 8.0
    assert rows["deepspeed-cpu"]["anchor"] == "torch-fused"
    assert blob["results"][0]["torch_threads"] == 1 and torch.get_num_threads() == 1


# --- --device cuda, without a GPU ---------------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_device_cuda_without_a_gpu_is_a_one_line_error(capsys):
    assert main(["bench", "--device", "cuda", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda: torch" in err and "sees no CUDA GPU here; valid devices here: cpu" in err
    assert err.count("\n") == 1


def test_unknown_device_is_a_one_line_error(capsys):
    assert main(["bench", "--device", "tpu"]) == 2
    err = capsys.readouterr().err
    assert "unknown device 'tpu'; valid: cpu, cuda" in err and err.count("\n") == 1


def test_cuda_default_contenders_and_the_not_installed_lines(fake_imports):
    fake_imports({"bitsandbytes": None, "torchao": None})
    names, notes = contenders.select(None, "cuda")
    assert names == ["torch-foreach", "torch-fused", "adamkit-fp32", "adamkit-bf16",
                     "adamkit-8bit"]
    assert notes == {
        "bnb-8bit": "bnb-8bit left out: bitsandbytes is not installed (pip install bitsandbytes)",
        "torchao-8bit": "torchao-8bit left out: torchao is not installed (pip install torchao)"}


def test_cuda_contenders_with_bitsandbytes_and_torchao_installed(fake_imports):
    made = {}

    def optimizer(label):
        class Fake(torch.optim.Optimizer):
            def __init__(self, params, lr, weight_decay):
                made[label] = {"lr": lr, "weight_decay": weight_decay}
                super().__init__(params, {"lr": lr})
        return Fake

    bnb = types.SimpleNamespace(optim=types.SimpleNamespace(AdamW8bit=optimizer("bnb")))
    ao = types.SimpleNamespace(AdamW8bit=optimizer("torchao"))
    fake_imports({"bitsandbytes": bnb, "torchao": ao})
    names, notes = contenders.select(None, "cuda")
    assert notes == {}
    assert names[-2:] == ["bnb-8bit", "torchao-8bit"] and "deepspeed-cpu" not in names
    assert "torch-forloop" not in names and "torch-sgd-fused" not in names
    params = [torch.nn.Parameter(torch.zeros(2))]
    contenders.make("bnb-8bit", params)
    contenders.make("torchao-8bit", params)
    assert made == {"bnb": {"lr": contenders.LR, "weight_decay": 0.0},
                    "torchao": {"lr": contenders.LR, "weight_decay": 0.0}}


def test_torchao_before_0_11_from_its_prototype_home(fake_imports):
    ao = types.SimpleNamespace(AdamW8bit="prototype AdamW8bit")

    def modules(name):
        if name == "torchao.optim":
            raise ModuleNotFoundError("No module named 'torchao.optim'", name="torchao.optim")
        return ao

    fake_imports({"torchao": modules})
    assert contenders.missing("torchao-8bit", "cuda") is None
    assert contenders._torchao_adamw8bit() == "prototype AdamW8bit"


@pytest.mark.parametrize("names, device, message", [
    (["deepspeed-cpu"], "cuda", "contender 'deepspeed-cpu' runs on cpu only, not on --device "
                                "cuda; valid on cuda: torch-forloop, torch-foreach"),
    (["bnb-8bit"], "cpu", "contender 'bnb-8bit' runs on cuda only, not on --device cpu"),
    (["adam"], "cuda", "unknown contender 'adam'; valid: adamkit-8bit"),
])
def test_contenders_that_do_not_run_on_the_device_are_refused(names, device, message):
    with pytest.raises(contenders.UsageError) as info:
        contenders.select(names, device)
    assert message in str(info.value)


def test_bench_device_cuda_end_to_end_without_the_timing(capsys, monkeypatch, fake_imports):
    # What --device cuda does before the timing, with torch told there is a GPU: selection,
    # the not-installed lines, the GPU memory check; run_preset itself needs the GPU.
    from adamkit.bench import run

    fake_imports({"bitsandbytes": None, "torchao": None})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (1_000_000_000, 80_000_000_000))
    calls = []

    def fake_run(preset, names, rounds, warmup, device, quiet):
        calls.append((preset.name, names, device))
        return {"preset": preset.name, "results": []}

    monkeypatch.setattr(run, "run_preset", fake_run)
    assert main(["bench", "--device", "cuda", "--preset", "big", "--quick", "--json"]) == 0
    captured = capsys.readouterr()
    assert calls == [("big", ["torch-foreach", "torch-fused", "adamkit-fp32", "adamkit-bf16",
                              "adamkit-8bit"], "cuda")]
    assert "bnb-8bit left out: bitsandbytes is not installed" in captured.err
    assert "torchao-8bit left out: torchao is not installed" in captured.err
    assert json.loads(captured.out)["device"] == "cuda"
    # the full big preset with 7 contenders does not fit in 1 GB of free GPU memory
    assert main(["bench", "--device", "cuda", "--preset", "big"]) == 2
    assert "of GPU memory, more than the 1 GB free on the GPU" in capsys.readouterr().err


def test_state_bytes_count_a_shared_tensor_once():
    qmap = torch.zeros(256)
    p, q = torch.zeros(8), torch.zeros(8)
    opt = types.SimpleNamespace(state={
        p: {"step": torch.tensor(3.0), "state1": torch.zeros(8, dtype=torch.uint8), "qmap1": qmap},
        q: {"state1": torch.zeros(8, dtype=torch.uint8), "qmap1": qmap}})
    assert contenders.state_bytes(opt) == 8 + 8 + 256 * 4


def test_help_names_every_contender(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for name in contenders.CONTENDERS:
        assert name in out
    assert 'pip install -c\n' in out or "pip install -c constraints.txt" in out
