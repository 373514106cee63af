"""The torch front end: ``torch.optim.Optimizer`` subclasses that call the rules.

A front end holds state, gathers tensors, calls the rule and writes back; it does no math of its
own. State entries carry torch.optim's names and dtypes (``step`` is a 0-dim tensor of torch's
scalar dtype), so ``state_dict()`` is torch's format: a checkpoint of ``torch.optim.Adam`` loads into
``adamkit.torch.Adam`` and back, and training continues identically.

adamkit's own options, on every optimizer:

- ``nonfinite``: ``None`` (default, as torch: NaN/Inf propagate), ``"skip"`` (the whole step is
  skipped when any gradient is non-finite: params, moments and step counts stay as they were, and
  ``optimizer.skipped_steps`` counts it), ``"raise"`` (a ``FloatingPointError`` naming the tensor).
- ``clip_value``, ``clip_norm`` (per tensor), ``clip_global_norm`` (over every parameter of the
  optimizer): see :mod:`adamkit.clipping`. ``param.grad`` is left unchanged.
- ``weight_decay_mode`` and ``eps_mode`` where the rule has them (see :mod:`adamkit.rules`).

torch-only switches: ``foreach`` is accepted and ignored (adamkit chooses its own path), except
where torch refuses a combination (a tensor ``lr`` or ``betas`` with ``foreach=True``; ``fused``
with ``foreach`` or ``differentiable``), which adamkit refuses with torch's error;
``capturable=True`` is refused with a ValueError (:mod:`._compat` holds torch's checks).
``differentiable=True`` means what it means in torch.optim: the step runs with grad mode on, so
autograd records the update (meta-learning through the optimizer); see :meth:`_step_tensor`.
``fused`` is accepted by every optimizer (every rule has its kernels,
:mod:`adamkit.torch.fused`); on params torch's fused kernels refuse (not floating point, a device
such as ``meta``) the step raises torch's RuntimeError; on params only adamkit's kernels do not
take (bfloat16 on the CPU, clipping options) the group takes the per-tensor rule path, and
``paths()`` says why.

The class is the step's outline: torch's checks (:mod:`._compat`), the engine's groups
(:mod:`adamkit.torch.fused`), the gradients prepared for the rest (:mod:`._gradients`: sparse,
non-finite guard, clipping), then the rule per tensor; a DTensor (FSDP2) param is handled in one
place, :func:`~adamkit.torch.fused.sharding.on_shard`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.optimizer import _get_scalar_dtype

from adamkit import clipping, rules
from adamkit.rules import Rule
from adamkit.rules._numerics import in_place
from adamkit.rules.hyperparameters import OPTIONS
from adamkit.torch import _compat, _gradients
from adamkit.torch.fused import FusedEngine, GroupPath, StepData, codecs
from adamkit.torch.fused.group_path import settings_verdict
from adamkit.torch.fused.sharding import local, on_shard

NONFINITE_MODES = OPTIONS["nonfinite"].choices


class RuleOptimizer(torch.optim.Optimizer):
    """Base of every adamkit.torch optimizer: ``rule`` says the math, this class the bookkeeping."""

    rule: Rule  # every group's, unless rule_of says otherwise (Muon with AdamW beside it)
    accepts_sparse = False  # rules whose result on a densified sparse gradient equals torch's
    eager_state = False  # torch's Adagrad creates its state in the constructor

    def __init__(
        self,
        params: Iterable[Any],
        hyperparameters: dict[str, Any],
        *,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        nonfinite: str | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
        clip_global_norm: float | None = None,
        state_precision: str = "fp32",
    ) -> None:
        name = type(self).__name__
        # Moments stored as "fp32" (the param's dtype), "bf16" or "8bit": see fused.codecs.
        self.state_precision = codecs.check_precision(state_precision, name)
        self._engine = FusedEngine()  # the fused path (Numba, Triton, foreach), see fused.engine
        _compat.check_tensor_lr(name, hyperparameters.get("lr"))
        _compat.check_flags(name, foreach=foreach, fused=fused, capturable=capturable,
                            differentiable=differentiable)
        if nonfinite not in NONFINITE_MODES:
            raise ValueError(f"{name}: invalid nonfinite {nonfinite!r}; valid: None, 'skip', 'raise'")
        options = {"clip_value": clip_value, "clip_norm": clip_norm,
                   "clip_global_norm": clip_global_norm}
        clipping.validate(options)
        hp = self.rule.validate(hyperparameters)
        moments = set(self.rule.init(torch.zeros(1), hp, torch)) & set(codecs.MOMENT_KEYS)
        if differentiable and self.state_precision != "fp32":
            raise ValueError(f"{name}: differentiable=True with state_precision="
                             f"{self.state_precision!r}: a step is differentiated through moments "
                             "kept in the param's dtype only; valid: 'fp32'")
        if self.state_precision != "fp32" and not moments:
            raise ValueError(f"{name}: state_precision={self.state_precision!r} applies to Adam-family "
                             f"moments, which {name} does not keep; valid: 'fp32'")
        flags = {"foreach": foreach, "capturable": False, "differentiable": differentiable,
                 "fused": fused}
        takes = inspect.signature(type(self).__init__).parameters  # torch's class's flags only
        defaults = {**hp, **{k: v for k, v in flags.items() if k in takes},
                    "nonfinite": nonfinite, **options}
        self.skipped_steps = 0
        super().__init__(params, defaults)
        if self.eager_state:
            for group in self.param_groups:
                for p in group["params"]:
                    self._init_state(p, group)

    # -- parameter groups and checkpoints ------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if param_group.get("decoupled_weight_decay") and "weight_decay_mode" not in param_group:
            param_group["weight_decay_mode"] = "decoupled"
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        rule = self.rule_of(group)
        hp = {k: group[k] for k in rule.takes if k in group}
        index = len(self.param_groups) - 1
        try:
            _compat.check_tensor_lr(type(self).__name__, group["lr"])
            group.update({k: v for k, v in rule.validate(hp).items() if k in group})
        except ValueError as exc:
            del self.param_groups[-1]
            raise type(exc)(f"param_groups[{index}]: {exc}") from None

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("skipped_steps", 0)
        self.__dict__.setdefault("state_precision", "fp32")
        self._engine = FusedEngine()
        for group in self.param_groups:
            # A torch.optim checkpoint has only torch's keys: take adamkit's from the defaults,
            # deriving the decay mode from torch's flag where it has one.
            if "decoupled_weight_decay" in group and "weight_decay_mode" not in group:
                group["weight_decay_mode"] = (
                    "decoupled" if group["decoupled_weight_decay"] else
                    "l2" if self.defaults.get("weight_decay_mode") == "decoupled" else
                    self.defaults["weight_decay_mode"]
                )
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            # Older checkpoints keep 'step' as a Python number: a 0-dim tensor, as torch converts it.
            for p in group["params"]:
                entry = self.state.get(p)
                if entry and "step" in entry and not torch.is_tensor(entry["step"]):
                    entry["step"] = torch.tensor(float(entry["step"]), dtype=_get_scalar_dtype())

    def state_dict(self) -> dict[str, Any]:
        out = super().state_dict()
        out["adamkit"] = {"skipped_steps": self.skipped_steps,  # torch ignores extra keys
                          "state_precision": self.state_precision, "codes": codecs.CODES}
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        extra = state_dict.get("adamkit", {})
        saved = {k: v for k, v in state_dict.items() if k != "adamkit"}
        if "adamkit" in state_dict and extra.get("codes", 1) < codecs.CODES:
            # an earlier adamkit's 8-bit codes (torch's and DCP's dicts carry no such entry)
            saved["state"] = {pid: codecs.upgrade_8bit(s) for pid, s in saved["state"].items()}
        super().load_state_dict(saved)
        self.skipped_steps = int(extra.get("skipped_steps", 0))
        # torch casts every state tensor but 'step' to the param's dtype; the rule's 0-dim scalars
        # (NAdam's mu_product, ASGD's eta and mu: torch's scalar dtype) keep the dtype they were
        # saved with, so that a round trip continues bitwise.
        for group, saved_group in zip(self.param_groups, state_dict["param_groups"], strict=True):
            made = self.rule_of(group).init(torch.zeros(2), self.hyperparameters(group), torch)
            scalars = [k for k, v in made.items() if v.ndim == 0]
            for param_id, p in zip(saved_group["params"], group["params"], strict=True):
                saved = state_dict["state"].get(param_id, {})
                for key in scalars:
                    if torch.is_tensor(saved.get(key)):
                        self.state[p][key] = saved[key].to(device=p.device, copy=True)
        params = [p for g in self.param_groups for p in g["params"]]
        # A checkpoint of any state precision loads: moments are re-stored in this one's. Only
        # params' entries: a load_state_dict post-hook may keep other entries in the state.
        for p in params:
            if state := self.state.get(p):
                with on_shard(state, p) as (shard, local_state):
                    codecs.convert_state(local_state, self.state_precision, shard, p.numel())
        self._engine.invalidate()

    # -- reading the state (the public surface tools use) ----------------------------------------

    def internals(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        """What Adam does to each coordinate of ``param`` now, from its *decoded* state.

        :func:`adamkit.rules.adam_internals` (``m_hat``, ``v_hat``, ``effective_lr = lr /
        denominator``, ``update = effective_lr · m_hat``, ``eps_dominates``) on the moments as
        the rule sees them, whatever ``state_precision`` stores (fp32, bf16, 8-bit codes), with
        the group's current hyperparameters (a scheduler's lr included) and the param's step
        count. A ValueError for an optimizer without Adam moments, a param without state yet
        (never stepped with a gradient) or a tensor that is not one of this optimizer's params.
        """
        name = type(self).__name__
        index = self._group_index(param)
        group = self.param_groups[index]
        read = rules.internals_of(self.rule_of(group), name)
        state = self.state.get(param)
        if not state or "step" not in state:
            raise ValueError(f"{name}.internals(): {_gradients.param_name(param, index, group)} has no "
                             "optimizer state yet (not stepped with a gradient)")
        return decoded_internals(read, param, state, self.hyperparameters(group))

    def state_bytes(self, param: torch.Tensor | None = None) -> int:
        """Bytes of optimizer state held for ``param`` (for every param when None): the moment
        tensors as stored (8-bit codes and their absmax included), ``step`` counters excluded."""
        if param is None:
            return sum(codecs.state_bytes(s) for s in self.state.values())
        self._group_index(param)  # a ValueError for a tensor that is not a param here
        return codecs.state_bytes(self.state.get(param, {}))

    def paths(self) -> list[GroupPath | None]:
        """Which path each param group took on its last step, in ``param_groups`` order: a
        :class:`~adamkit.torch.fused.GroupPath` (``kind`` ``"engine"`` or ``"rule"``, and for the
        rule path the ``reason``); None for a group not stepped yet."""
        return [self._engine.path_of(group) for group in self.param_groups]

    def rule_of(self, group: dict[str, Any]) -> Rule:
        """The rule that steps ``group``'s params: ``rule``, for every group but where a subclass
        says otherwise (:class:`adamkit.torch.muon.MuonWithAdamW`'s AdamW groups)."""
        return self.rule

    def _group_index(self, param: torch.Tensor) -> int:
        for index, group in enumerate(self.param_groups):
            if any(q is param for q in group["params"]):
                return index
        raise ValueError(f"{type(self).__name__}: the tensor of shape {tuple(param.shape)} is not "
                         "a parameter of this optimizer")

    # -- the step --------------------------------------------------------------------------------

    def step(self, closure: Any = None) -> Any:
        # As torch.optim (``_use_grad_for_differentiable``): grad mode on for the step only when
        # the optimizer is differentiable, so that autograd records the update.
        with torch.set_grad_enabled(bool(self.defaults.get("differentiable"))):
            return self._step(closure)

    def _step(self, closure: Any) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Groups the fused engine takes are done here; the rest take the per-tensor rule path.
        groups = [g for g in self.param_groups if not self._engine.step_group(
            g, StepData(self.rule_of(g).name, self.hyperparameters(g), self.state_precision,
                        self.state),
            settings_verdict(self.rule_of(g).name, g, self.defaults))]
        _compat.check_fused_params(type(self).__name__, groups, self.state)
        work = _gradients.prepare(type(self).__name__, groups, self.param_groups, self.defaults,
                                  self.accepts_sparse)
        if work is None:  # nonfinite="skip": a non-finite gradient skips the whole step
            self.skipped_steps += 1
            return loss
        for group, params, grads in work:
            if params:
                self._step_group(group, params, grads)
        return loss

    def _step_group(self, group: dict, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        """The per-tensor path: the rule itself, one parameter at a time (the ground truth)."""
        hp, rule = self.hyperparameters(group), self.rule_of(group)
        for p, grad in zip(params, grads, strict=True):
            state = self.state.get(p) or self._init_state(p, group)
            with on_shard(state, p) as (shard, local_state):  # FSDP2: this rank's shard
                self._step_tensor(shard, local(grad), local_state, hp, p.numel(), rule)
            if state and self.state.get(p) is not state:  # torch keeps no entry for no state
                self.state[p] = state

    def _step_tensor(self, p: torch.Tensor, grad: torch.Tensor, state: dict, hp: dict,
                     numel: int, rule: Rule | None = None) -> None:
        """One tensor's update by ``rule`` (None: ``self.rule``); ``numel`` is the whole
        parameter's (a shard's decides nothing).

        With grad mode on (a differentiable optimizer's step, see :meth:`step`; decided here, so
        that a subclass's own ``_step_group`` gets it too) autograd records the update: the rule
        then runs pure (plain ``torch``) on clones of the param and state, and the results
        are copied into the param and state tensors (``copy_``, which autograd records): so they
        are updated in place, as torch.optim updates them, with the same values, and the graph
        holds only the clones, never a tensor written afterwards. In-place ops on the inputs
        themselves would break autograd wherever one saves a tensor a later op writes (AMSGrad's
        maximum saves the state it replaces, ``addcdiv`` the moment that the next step updates).
        A leaf param that requires grad is refused by that ``copy_`` with torch's error, as torch's
        own in-place step refuses it; torch's tests step a clone of the param. Tensor
        hyperparameters that require grad stay tensors (``rules._numerics.value_of``).
        """
        rule = rule or self.rule
        differentiable = torch.is_grad_enabled()
        if differentiable and torch.is_tensor(state.get("step")) and state["step"].requires_grad:
            raise RuntimeError("`requires_grad` is not supported for `step` in differentiable mode; "
                               "valid: a step count that does not require grad (a count has no "
                               "derivative)")
        if not rule.counts_steps:
            step = 0
        elif torch.compiler.is_compiling():  # a tensor, as torch.optim's under dynamo
            step = state["step"] + 1
        else:
            step = int(state["step"].item()) + 1
        arrays = {k: v for k, v in state.items() if k != "step"}
        if lowp := self.state_precision != "fp32" or codecs.stored_format(arrays) != "fp32":
            stored, arrays = arrays, codecs.decode_state(arrays, p.detach())
        real_p = _real(p)
        real_arrays = {k: _real(v) for k, v in arrays.items()}
        if differentiable:  # pure, on clones: see the docstring
            new_p, new_arrays = rule.update(real_p.clone(), _real(grad),
                                            {k: v.clone() for k, v in real_arrays.items()},
                                            step, hp, torch)
        else:
            # Eagerly the rule writes the param and moments in place where it can, as torch.optim
            # does (same bits): the in-place namespace says so; what it returns anew is copied
            # back here. dynamo traces it functional (plain torch).
            xp = torch if torch.compiler.is_compiling() else in_place(torch)
            new_p, new_arrays = rule.update(real_p, _real(grad), real_arrays, step, hp, xp)
        if new_p is not real_p:
            real_p.copy_(new_p)
        if lowp:  # encode, and write back in place (the engine's flat buffers may hold them)
            encoded = codecs.encode_state(new_arrays, self.state_precision, p, numel)
            codecs.store_state(state, stored, encoded)
        else:
            for key, value in new_arrays.items():
                if key not in arrays:  # created on the first step (SGD's momentum buffer, as torch)
                    state[key] = torch.view_as_complex(value) if p.is_complex() else value.clone()
                elif value is not real_arrays[key]:
                    real_arrays[key].copy_(value)
        if rule.counts_steps:
            state["step"] += 1

    def hyperparameters(self, group: dict) -> dict[str, Any]:
        """The rule's hyperparameters for ``group`` now: scheduler's lr and its factor included."""
        hp = {k: group[k] for k in self.rule_of(group).takes if k in group}
        # A tensor lr stays a tensor, as in torch.optim, where lr / bias_correction rounds in its
        # dtype; a 1-element one of any shape is used as its 0-dim view (torch's _to_scalar).
        if torch.is_tensor(hp.get("lr")) and hp["lr"].ndim:
            hp["lr"] = hp["lr"].reshape(())
        # Other tensor hyperparameters are read as numbers, but for one that requires grad
        # (differentiable=True): the step differentiates through it.
        if torch.is_tensor(hp.get("weight_decay")) and not hp["weight_decay"].requires_grad:
            hp["weight_decay"] = hp["weight_decay"].item()
        if "betas" in hp:
            hp["betas"] = tuple(b.item() if torch.is_tensor(b) and not b.requires_grad else b
                                for b in hp["betas"])
        initial = group.get("initial_lr")  # set by torch.optim.lr_scheduler
        if torch.is_tensor(initial) and initial.requires_grad:  # differentiated: stays a tensor
            hp["lr_factor"] = hp["lr"] / initial.reshape(())
        else:
            hp["lr_factor"] = hp["lr"] / float(initial) if initial else 1.0
        return hp

    def _init_state(self, p: torch.Tensor, group: dict) -> dict:
        """``p``'s first state, kept in ``self.state`` unless empty (SGD without momentum keeps
        none, as torch's: its ``state_dict()['state']`` stays ``{}``)."""
        state: dict[str, Any] = {}
        rule = self.rule_of(group)
        if rule.counts_steps:
            state["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype())
        hp = self.hyperparameters(group)
        with on_shard(state, p.detach()) as (shard, local_state):  # made on the local shard
            real = _real(shard)  # rules see real coordinates only (torch's Adagrad agrees)
            new = {}
            for key, value in rule.init(real, hp, torch).items():
                is_view_shaped = p.is_complex() and value.shape == real.shape
                new[key] = torch.view_as_complex(value) if is_view_shaped else value
            if self.state_precision != "fp32":
                new.update(codecs.encode_state(new, self.state_precision, shard, p.numel()))
            local_state.update(new)
        if state:
            self.state[p] = state
        return state


def decoded_internals(read: Callable[..., dict], param: torch.Tensor, state: dict, hp: dict) -> dict:
    """``read`` (a rule's internals) on ``state`` decoded from any stored precision."""
    with on_shard({k: v for k, v in state.items() if k != "step"}, param.detach()) as (shard, held):
        arrays = codecs.decode_state(held, shard)
    step = state["step"]
    step = int(step.item()) if torch.is_tensor(step) else int(step)
    return read({k: _real(v) for k, v in arrays.items()}, step, hp, torch)


def _real(t: torch.Tensor) -> torch.Tensor:
    """Complex tensors are updated through their real view, as torch.optim does."""
    return torch.view_as_real(t) if t.is_complex() else t
