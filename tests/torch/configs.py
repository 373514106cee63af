"""Configurations as data: (optimizer name, kwargs) pairs that every core property is tested on.

Every option torch.optim has for each optimizer appears at least once; adamkit's own options are
tested against the reference rules in tests/rules/test_rules.py.
"""

import torch

CONFIGS = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.1}),
    ("Adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"maximize": True, "amsgrad": True, "weight_decay": 0.05}),
    ("Adam", {"lr": torch.tensor(0.01), "betas": (0.8, 0.99), "eps": 1e-6}),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True, "weight_decay": 0.3}),
    ("AdamW", {"maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"weight_decay": 0.1}),
    ("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"momentum_decay": 0.01, "maximize": True}),
    ("RAdam", {}),  # rectification switches on after step 5 (beta2 = 0.999)
    ("RAdam", {"betas": (0.9, 0.9)}),  # ... and here after step 3 (rho_inf = 19)
    ("RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {"weight_decay": 0.1}),
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9, "alpha": 0.9}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr_decay": 0.05, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05), "maximize": True}),
    ("ASGD", {"t0": 3}),  # averaging from step 5 (torch's default t0 = 1e6 never averages here)
    ("ASGD", {"lambd": 0.1, "t0": 0, "weight_decay": 0.1, "maximize": True}),
]


def config_id(config):
    name, kwargs = config
    parts = [f"{k}={v.item() if torch.is_tensor(v) else v}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"
