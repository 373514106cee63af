"""What ``adamkit.torch.AdamWScheduleFree`` adds to a declared class: the schedulefree package's
``train()``/``eval()`` switch and its per-group bookkeeping, so that its checkpoints load both ways.

The math is rule :mod:`adamkit.rules.schedule_free`; this mixin only keeps its state where
``schedulefree.AdamWScheduleFree`` keeps it:

- per parameter ``z`` and ``exp_avg_sq`` (no ``step``);
- per group ``k`` (steps taken: the rule's ``step`` is ``k + 1``, one count for the whole group,
  as the reference's bias correction uses it), ``weight_sum`` and ``lr_max`` (the rule's scalar
  state, Python floats as the reference's, so the step is bitwise its for-loop),
  ``scheduled_lr`` (the warmed-up lr of the last step) and ``train_mode``.

As the reference: the optimizer starts in eval mode; ``train()`` moves every param with state from
the average x to y (where gradients are taken), ``eval()`` back to x (what to evaluate and
checkpoint); ``step()`` refuses to run in eval mode; a group whose params have no gradient on a
step still advances its ``k`` and its average's weights.
"""

from __future__ import annotations

from typing import Any

import torch

from adamkit.rules import schedule_free as sf
from adamkit.rules._numerics import in_place
from adamkit.torch.fused.sharding import local, on_shard

# The reference's per-group entries and their values before the first step.
BOOKKEEPING = {"k": 0, "train_mode": False, "weight_sum": 0.0, "lr_max": -1.0, "scheduled_lr": 0.0}
ARRAYS = ("z", "exp_avg_sq")


class ScheduleFree:
    """Mixin placed before :class:`adamkit.torch._base.RuleOptimizer` (see the module doc)."""

    param_groups: list[dict[str, Any]]
    state: Any
    defaults: dict[str, Any]
    rule: Any
    skipped_steps: int
    state_precision: str

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if getattr(self, "state_precision", "fp32") != "fp32":
            raise ValueError(f"{type(self).__name__}: invalid state_precision "
                             f"{self.state_precision!r}; valid: 'fp32' (z is the iterate itself)")
        for key, value in BOOKKEEPING.items():
            self.defaults.setdefault(key, value)  # torch fills a new group's keys from these
        super().add_param_group(param_group)  # type: ignore[misc]

    # -- the switch -------------------------------------------------------------------------------

    @torch.no_grad()
    def eval(self) -> None:
        """Params to x, the average (the reference's ``eval()``); nothing where already there."""
        self._switch(to_train=False)

    @torch.no_grad()
    def train(self) -> None:
        """Params to y, where ``step()`` takes gradients (the reference's ``train()``)."""
        self._switch(to_train=True)

    def _switch(self, to_train: bool) -> None:
        move = sf.train_params if to_train else sf.eval_params
        for group in self.param_groups:
            if group["train_mode"] == to_train:
                continue
            beta1 = group["betas"][0]
            beta1 = beta1.item() if torch.is_tensor(beta1) else beta1
            for p in group["params"]:
                state = self.state.get(p)
                if state and "z" in state:
                    with on_shard(state, p.detach()) as (shard, held):
                        moved = move(shard, held["z"].to(shard.device), beta1, in_place(torch))
                        if moved is not shard:
                            shard.copy_(moved)
            group["train_mode"] = to_train

    # -- the step ---------------------------------------------------------------------------------

    def step(self, closure: Any = None) -> Any:
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(f"{type(self).__name__}.step(): the optimizer is in eval mode (params "
                               "at the average x); valid: call optimizer.train() before training "
                               "steps and optimizer.eval() before evaluating or saving")
        skipped, before = self.skipped_steps, [g["k"] for g in self.param_groups]
        loss = super().step(closure)  # type: ignore[misc]
        if self.skipped_steps == skipped:  # nonfinite="skip" skips the whole step, bookkeeping too
            for group, k in zip(self.param_groups, before, strict=True):
                if group["k"] == k:  # no gradient in this group: the reference advances it anyway
                    self._advance(group, self._averaging(group)[1:])
        return loss

    def _averaging(self, group: dict) -> tuple[int, Any, Any, Any]:
        """``(step, weight_sum, lr_max, warmed-up lr)`` of ``group``'s next step."""
        hp = self.hyperparameters(group)  # type: ignore[attr-defined]
        step = group["k"] + 1
        _, lr_avg = sf.learning_rates(step, hp, torch)
        scalars = {"weight_sum": group["weight_sum"], "lr_max": group["lr_max"]}
        _, weight_sum, lr_max = sf.averaging_weight(scalars, step, lr_avg, hp, torch)
        return step, weight_sum, lr_max, lr_avg

    @staticmethod
    def _advance(group: dict, scalars: tuple[Any, Any, Any]) -> None:
        weight_sum, lr_max, lr_avg = scalars
        group.update(k=group["k"] + 1, weight_sum=weight_sum, lr_max=lr_max, scheduled_lr=lr_avg)

    def _step_group(self, group: dict, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        """The rule per tensor, with the group's step count and scalars (see the module doc)."""
        hp = self.hyperparameters(group)  # type: ignore[attr-defined]
        step = group["k"] + 1
        scalars = {"weight_sum": group["weight_sum"], "lr_max": group["lr_max"]}
        xp = torch if torch.compiler.is_compiling() else in_place(torch)
        new: dict[str, Any] = {}
        for p, grad in zip(params, grads, strict=True):
            state = self.state.get(p) or self._init_state(p, group)
            with on_shard(state, p) as (shard, held):
                real = _real(shard)
                arrays = {key: _real(held[key]) for key in ARRAYS}
                new_p, new = self.rule.update(real, _real(local(grad)), {**arrays, **scalars},
                                              step, hp, xp)
                if new_p is not real:
                    real.copy_(new_p)
                for key in ARRAYS:
                    if new[key] is not arrays[key]:
                        arrays[key].copy_(new[key])
        _, lr_avg = sf.learning_rates(step, hp, torch)
        self._advance(group, (new["weight_sum"], new["lr_max"], lr_avg))

    def _init_state(self, p: torch.Tensor, group: dict) -> dict:
        """``z`` (a copy of the param) and ``exp_avg_sq``, made when the param first has a
        gradient, as the reference; the rule's scalars live in the group."""
        hp = self.hyperparameters(group)  # type: ignore[attr-defined]
        state: dict[str, Any] = {}
        with on_shard(state, p.detach()) as (shard, held):
            made = self.rule.init(shard, hp, torch)
            held.update({key: made[key] for key in ARRAYS})
        self.state[p] = state
        return state


def _real(t: torch.Tensor) -> torch.Tensor:
    """Complex tensors are updated through their real view, as torch.optim does."""
    return torch.view_as_real(t) if t.is_complex() else t
