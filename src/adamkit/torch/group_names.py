"""torch's names for the hyperparameters in param groups, where the vocabulary names them otherwise.

A param group (and so ``state_dict()['param_groups']``) must carry the names torch.optim's class
reads: torch's Adadelta reads ``group["rho"]``, its ASGD ``group["alpha"]``. adamkit's vocabulary
calls the first ``alpha`` (the decay of a squared average, as RMSprop's) and the second
``eta_power`` (ASGD's alpha is another quantity than RMSprop's). A declaration's torch ``Api`` says
so with ``traits={"group_names": {rule name: torch's name}}`` and names this mixin as its
``base``; the groups then hold torch's names, so a checkpoint loads into torch.optim's class and
back, while the rule keeps reading its own (:meth:`hyperparameters` translates).

- a group given with torch's names (``{"params": ..., "rho": 0.5}``) is validated as the rule's;
- ``defaults`` and every group use torch's names (from the first group on);
- a loaded checkpoint (torch's, or adamkit's) keeps torch's names; a value under the rule's name
  (an older adamkit checkpoint) is renamed.
"""

from __future__ import annotations

from typing import Any


class TorchGroupNames:
    """Mixin for :class:`adamkit.torch.optimizers.DeclaredOptimizer` subclasses (see module doc)."""

    api: Any
    defaults: dict[str, Any]
    param_groups: list[dict[str, Any]]

    @property
    def _group_names(self) -> dict[str, str]:
        return dict(self.api.traits.get("group_names", {}))

    def _to_torch(self, mapping: dict[str, Any]) -> None:
        for ours, theirs in self._group_names.items():
            if ours in mapping:
                mapping[theirs] = mapping.pop(ours)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        given = dict(param_group)
        for ours, theirs in self._group_names.items():
            if theirs in given:  # validated below under the rule's name
                given[ours] = given.pop(theirs)
        super().add_param_group(given)  # type: ignore[misc]
        self._to_torch(self.param_groups[-1])
        self._to_torch(self.defaults)  # torch's Optimizer set them before the first group

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        view = dict(group)
        for ours, theirs in self._group_names.items():
            if theirs in view:
                view[ours] = view.pop(theirs)
        return super().hyperparameters(view)  # type: ignore[misc]

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        self._to_torch(self.defaults)
        for group in self.param_groups:
            for ours, theirs in self._group_names.items():
                if theirs in group:
                    group.pop(ours, None)  # a default filled in under the rule's name
                elif ours in group:
                    group[theirs] = group.pop(ours)
