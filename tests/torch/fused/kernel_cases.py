"""The fused kernels' cases as data: (rule, options) pairs, every flag of every kernel and the
options every rule shares. The CPU kernels (tests/torch/fused/test_kernels.py), the Triton kernels and the
foreach path (tests/torch/fused/gpu/) are each tested on all of them."""

CASES = [
    ("adam", {}),
    ("adam", {"amsgrad": True}),
    ("adam", {"maximize": True}),
    ("adam", {"weight_decay": 0.1}),
    ("adam", {"weight_decay": 0.1, "weight_decay_mode": "decoupled"}),
    ("adam", {"weight_decay": 0.1, "weight_decay_mode": "independent", "lr_factor": 0.5}),
    ("adam", {"eps_mode": "hat", "eps": 1e-7}),
    ("adam", {"eps_mode": "root", "eps": 1e-6}),
    ("adam", {"eps_mode": "root", "eps": 1e-6, "amsgrad": True, "maximize": True}),
    ("adam", {"betas": (0.5, 0.9), "lr": 0.1, "amsgrad": True, "eps_mode": "hat"}),
    ("adam", {"eps": 1e-3, "eps_root": 1e-2}),  # optax's sqrt(v̂ + eps_root) + eps
    ("adam", {"eps": 1e-8, "eps_root": 1e-8, "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamax", {}),
    ("adamax", {"eps_mode": "hat", "weight_decay": 0.1, "maximize": True}),
    ("nadam", {}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.01}),
    ("nadam", {"eps_root": 1e-6, "maximize": True}),
    ("radam", {}),  # rectified from step 6 (β2 = 0.999): the walk covers both branches
    ("radam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "betas": (0.8, 0.9)}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3, "maximize": True}),
    ("sgd", {"weight_decay": 0.1, "weight_decay_mode": "decoupled", "lr": 0.1}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1}),
    ("adagrad", {"eps_mode": "root", "eps": 1e-6, "maximize": True}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.1, "maximize": True}),
    ("rmsprop", {"centered": True, "eps_mode": "root", "eps": 1e-6}),
]
