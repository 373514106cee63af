"""adamkit train with schedule-free AdamW: trained at y, evaluated and saved at the average x,
checkpointed in train mode, so a resume mid-epoch is bitwise a straight run."""

from __future__ import annotations

import torch
from tests.train.test_train_trainer import StopAfter, _assert_same_bits, _cfg

from adamkit.train import Trainer, checkpoint, tasks, train


def test_resume_mid_epoch_is_bitwise(tmp_path):
    cfg = _cfg(optimizer="schedule_free_adamw", lr=2.5e-3, schedule="constant", weight_decay=1e-3)
    straight = train(cfg, tmp_path / "straight", quiet=True, plots=False)
    steps_per_epoch = straight.summary["steps"] // cfg.epochs
    first = Trainer(cfg, tmp_path / "resumed", quiet=True, plots=False).run(
        stop=StopAfter(steps_per_epoch + steps_per_epoch // 3))
    assert first.interrupted
    state, _, _ = checkpoint.load_latest(tmp_path / "resumed" / "checkpoints")
    assert all(g["train_mode"] for g in state["optimizer"]["param_groups"])
    train(cfg, tmp_path / "resumed", resume=True, quiet=True, plots=False)
    _assert_same_bits(tmp_path / "straight", tmp_path / "resumed")


def test_evaluated_and_saved_at_the_average(tmp_path):
    cfg = _cfg(optimizer="schedule_free_adamw", lr=2.5e-3, schedule="constant", epochs=1)
    trainer = Trainer(cfg, tmp_path, quiet=True, plots=False)
    result = trainer.run()
    opt, ds = trainer.optimizer, trainer.ds
    assert not opt.param_groups[0]["train_mode"]  # the run ends at x
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in trainer.model.state_dict().items())
    at_x = tasks.evaluate(trainer.model, ds.task, ds.x_test, ds.y_test, cfg.eval_batch_size)
    assert at_x["loss"] == result.summary["test_loss"]
    opt.train()  # y is another point, with another loss
    at_y = tasks.evaluate(trainer.model, ds.task, ds.x_test, ds.y_test, cfg.eval_batch_size)
    assert at_y["loss"] != at_x["loss"]
