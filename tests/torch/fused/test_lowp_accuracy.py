"""Accuracy parity: bf16 and 8-bit optimizer states train as well as fp32 (within 0.3 points)."""

import torch

import adamkit.torch as ak
from adamkit.torch.fused import codecs as P
from adamkit.train.datasets import load_digits
from adamkit.train.models import digits_cnn

EPOCHS, LR, BATCH = 8, 3e-3, 32  # the digits recipe (Adam 3e-3, batch 32, one-cycle), shortened


def train_digits(ds, precision: str, seed: int = 0) -> float:
    """Test accuracy (%) of the digits CNN trained with Adam at ``state_precision``."""
    torch.manual_seed(seed)
    model = digits_cnn(ds)
    opt = ak.Adam(model.parameters(), lr=LR, fused=True, state_precision=precision)
    steps = EPOCHS * -(-len(ds.x_train) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        model.train()
        order = torch.randperm(len(ds.x_train), generator=gen)
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(ds.x_train[idx]), ds.y_train[idx]).backward()
            opt.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        return 100.0 * (model(ds.x_test).argmax(1) == ds.y_test).float().mean().item()


def test_bf16_and_8bit_states_match_fp32_accuracy_on_digits():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic convolutions
    try:
        ds = load_digits()
        accuracy = {p: train_digits(ds, p) for p in ("fp32", "bf16", "8bit")}
    finally:
        torch.set_num_threads(threads)
    assert accuracy["fp32"] > 95.0, accuracy  # the task is learned at all
    for precision in ("bf16", "8bit"):
        assert abs(accuracy[precision] - accuracy["fp32"]) <= 0.3, accuracy


def _mixed_scale_run(precision: str, fused: bool) -> torch.Tensor:
    """Adam (lr 1e-2) for 10 steps on 8,192 coordinates, every seventh with gradients 1e-4 times
    the others': blocks that mix scales, as a layer's rows or an embedding's rare tokens do."""
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.zeros(8192))
    scale = torch.ones(8192)
    scale[::7] = 1e-4
    opt = ak.Adam([p], lr=1e-2, state_precision=precision, fused=fused)
    for _ in range(10):
        p.grad = torch.randn(8192, generator=gen) * scale
        opt.step()
    return p.detach()


def test_8bit_states_track_fp32_where_a_block_mixes_scales():
    fp32 = _mixed_scale_run("fp32", fused=False)
    for fused in (True, False):  # the engine's kernels and the rule path's codec alike
        for precision, bound in (("8bit", 0.02), ("bf16", 0.002)):
            gap = (_mixed_scale_run(precision, fused) - fp32).abs()
            assert gap.max() <= bound, (precision, fused, gap.max())
            # the small coordinates move as far as in fp32 (a code that loses them moves them
            # by the wrong amount: several times too far, or hardly at all)
            small = gap[::7].max() / fp32[::7].abs().max()
            assert small <= 0.2, (precision, fused, small)


def test_a_checkpoint_of_the_earlier_8bit_codes_loads_as_what_it_meant():
    """adamkit's state_dicts before the float-like codes (no "codes" in their "adamkit" entry)
    kept m as q·|q|·absmax/127² and v as (q/255)⁴·absmax: they are re-coded on load."""
    gen = torch.Generator().manual_seed(3)
    p = torch.nn.Parameter(torch.randn(8192, generator=gen))
    opt = ak.Adam([p], lr=1e-2, state_precision="8bit")
    p.grad = torch.randn(8192, generator=gen)
    opt.step()
    saved = opt.state_dict()
    state = saved["state"][0]
    want = {}
    for key, signed in (("exp_avg", True), ("exp_avg_sq", False)):
        values = P.decode_8bit(state[key], state[f"{key}_absmax"], p, signed).reshape(-1, 256)
        absmax = values.abs().amax(1)
        if signed:  # the earlier codes, spelt as they were
            q = torch.floor(torch.sqrt(values.abs() / absmax[:, None]) * 127 + 0.5) * values.sign()
            state[key] = q.to(torch.int8).reshape(-1)
            want[key] = (q * q.abs()) * (absmax / 127**2)[:, None]
        else:
            q = torch.floor(torch.sqrt(torch.sqrt(values / absmax[:, None])) * 255 + 0.5)
            state[key] = q.to(torch.uint8).reshape(-1)
            want[key] = (q**4) * (absmax / 255**4)[:, None]
        state[f"{key}_absmax"] = absmax
    del saved["adamkit"]["codes"]
    fresh = ak.Adam([torch.nn.Parameter(p.detach().clone())], lr=1e-2, state_precision="8bit")
    fresh.load_state_dict(saved)
    loaded = next(iter(fresh.state.values()))
    for key, signed in (("exp_avg", True), ("exp_avg_sq", False)):
        got = P.decode_8bit(loaded[key], loaded[f"{key}_absmax"], p, signed)
        expected = want[key].reshape(-1)
        nonzero = expected != 0
        relative = ((got - expected).abs()[nonzero] / expected.abs()[nonzero])
        assert relative.max() <= 1 / 8 + 1e-6, key  # within the new codes' rounding
    assert fresh.state_dict()["adamkit"]["codes"] == P.CODES
