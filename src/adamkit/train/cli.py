"""``adamkit train``, ``adamkit compare`` and ``adamkit data get``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adamkit.errors import UsageError
from adamkit.resources import MAX_THREADS

TRAIN_EPILOG = """\
examples:
  adamkit train                                  # digits, fast CNN recipe (~97-99% in seconds)
  adamkit train --recipe mnist --data-dir DIR    # MNIST IDX files in DIR, 3 epochs to >= 99%
  adamkit train --recipe seed-adaptive-lr        # the seeds' slide 10, with Adam's real step sizes
  adamkit train --optimizer sgd --lr 0.05 --momentum 0.9 --schedule cosine
  adamkit train --out runs/x --resume            # continue an interrupted run, bitwise
  adamkit train --out runs/x --overwrite         # replace the earlier run in runs/x
  adamkit train --nproc 2 [--shard]              # DDP (FSDP2) over 2 processes; --nnodes: more machines
recipes: {recipes}
writes OUT/metrics.jsonl (one line per epoch), OUT/summary.json, OUT/curves.png, OUT/model.pt,
OUT/checkpoints/ (the last two; also on Ctrl-C / SIGTERM), with --diagnostics
OUT/diagnostics.json and OUT/diagnostics.png. An OUT that holds an earlier run is refused
(nothing is deleted): --resume continues it, --overwrite replaces it.
"""

# config fields a flag may set; the dest names equal TrainConfig's field names
CONFIG_FLAGS = (
    "dataset", "model", "optimizer", "lr", "betas", "eps", "weight_decay", "momentum",
    "amsgrad", "nesterov", "eps_mode", "weight_decay_mode", "state_precision", "clip_global_norm",
    "schedule",
    "warmup_epochs", "epochs", "batch_size", "eval_batch_size", "seed", "threads",
    "flush_denormal", "data_dir",
    "diagnostics", "diagnostics_every",
)


def _threads(text: str) -> int:
    """``--threads``: a positive integer (the range is checked with the config)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None


def _add_model_flags(p: argparse.ArgumentParser, with_optimizer: bool = True) -> None:
    from adamkit.flags import add_flag
    from adamkit.train import names, optim_factory  # not datasets/models: those load torch

    g = p.add_argument_group("what to train")
    g.add_argument("--recipe", help="named recipe (defaults for every flag below); "
                   "default: the data set's fast recipe")
    g.add_argument("--dataset", choices=names.DATASETS, metavar="NAME",
                   help=f"one of: {', '.join(names.DATASETS)} (default digits)")
    g.add_argument("--model", choices=names.MODELS, metavar="NAME",
                   help=f"one of: {', '.join(names.MODELS)}")
    g.add_argument("--data-dir", dest="data_dir", metavar="DIR",
                   help="where mnist / fashion-mnist IDX files or cifar-10-batches-py are (default ./data)")
    o = p.add_argument_group("optimizer (flags an optimizer does not take are errors)")
    if with_optimizer:
        o.add_argument("--optimizer", choices=names.OPTIMIZERS, metavar="NAME",
                       help=f"one of: {', '.join(names.OPTIMIZERS)}")
    for name in optim_factory.OPTION_FLAGS:  # type, choices and help from the declarations
        takers = optim_factory.takers(name)
        add_flag(o, name, "" if len(takers) == len(optim_factory.OPTIMIZERS) else ", ".join(takers))
    o.add_argument("--schedule", metavar="SPEC",
                   help="constant, cosine, onecycle, step:EPOCHS,GAMMA, exponential:GAMMA, "
                        "seed-exp-decay, ... (adamkit.schedules); cosine/onecycle span the run")
    o.add_argument("--warmup-epochs", dest="warmup_epochs", type=float, metavar="W",
                   help="linear warm-up over W epochs before the schedule")
    r = p.add_argument_group("run")
    r.add_argument("--epochs", type=int)
    r.add_argument("--batch-size", dest="batch_size", type=int)
    r.add_argument("--eval-batch-size", dest="eval_batch_size", type=int, help=argparse.SUPPRESS)
    r.add_argument("--seed", type=int, help="fixes weights, data order and dropout (default 0)")
    r.add_argument("--threads", type=_threads, metavar="N",
                   help=f"torch.set_num_threads, 1..{MAX_THREADS} (default: torch's, this machine's "
                        "cores or OMP_NUM_THREADS; 1 can be faster on a machine busy with other "
                        "jobs); the count used is in summary.json, and a resume uses it again")
    r.add_argument("--keep-denormals", dest="flush_denormal", action="store_false", default=None,
                   help="do not flush subnormal floats to zero (default: flush; they can make "
                        "CPU steps 15x slower)")
    r.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    r.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNG figures (JSON results are still written)")
    r.add_argument("--json", action="store_true", help="print summary.json to stdout")


def register(subparsers) -> None:
    from adamkit.train import recipes

    p = subparsers.add_parser(
        "train",
        help="train a real model (digits, MNIST, CIFAR-10, U-Net, sparse text, regression)",
        description="Train a model with any adamkit optimizer: progress bar, metrics, curves, "
        "crash-safe checkpoints, and (--diagnostics) Adam's per-layer step sizes.",
        epilog=TRAIN_EPILOG.format(recipes=", ".join(recipes.RECIPES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_model_flags(p)
    p.add_argument("--diagnostics", action="store_true", default=None,
                   help="record Adam's effective step lr*m_hat/(sqrt(v_hat)+eps) per layer, the "
                        "update/parameter RMS ratio and the share of eps-dominated coordinates")
    p.add_argument("--diagnostics-every", dest="diagnostics_every", type=int, metavar="N",
                   help="sample every N steps (default: ~50 samples a run, at most every 20 steps)")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/RECIPE)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT's newest good checkpoint (bitwise equal to a straight run)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the earlier run in OUT (without it, an OUT holding a run is "
                        "refused)")
    p.add_argument("--log-every", dest="log_every", type=int, default=0, metavar="N",
                   help="also print a line every N batches (for logs without a terminal); "
                        "0 (default): off")
    from adamkit.train import launch

    launch.add_flags(p)
    p.set_defaults(func=run_train)

    c = subparsers.add_parser(
        "compare",
        help="train the same model with several optimizers; curves side by side and a table",
        description="Same model, seed, initial weights and data order for each optimizer.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  adamkit compare --dataset digits --optimizers adam,sgd,rmsprop,adagrad\n"
        "default learning rates per optimizer: each optimizer's declared train_lr "
        "(adamkit.rules.registry); --lr sets one for all",
    )
    c.add_argument("--optimizers", default="adam,sgd,rmsprop",
                   help="comma-separated optimizer names (default adam,sgd,rmsprop)")
    _add_model_flags(c, with_optimizer=False)
    c.add_argument("--out", metavar="DIR", help="output directory (default runs/compare-DATASET)")
    c.add_argument("--overwrite", action="store_true",
                   help="replace the earlier comparison in OUT (without it, it is refused)")
    c.set_defaults(func=run_compare)

    d = subparsers.add_parser("data", help="data set files: download helper",
                              description="Manage data set files.")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    g = dsub.add_parser(
        "get",
        help="download a data set's standard files and verify their checksums",
        description="Download mnist, fashion-mnist or cifar10 from its standard mirror (or --mirror) "
        "into --to, verify the published MD5s, extract cifar10. Needs internet.",
    )
    from adamkit.train.names import GETTABLE

    g.add_argument("name", choices=GETTABLE, metavar="NAME", help=", ".join(GETTABLE))
    g.add_argument("--to", default="data", metavar="DIR", help="target directory (default ./data)")
    g.add_argument("--mirror", metavar="URL", help="base URL to fetch the standard file names from")
    g.add_argument("--quiet", action="store_true")
    g.add_argument("--json", action="store_true", help="print what was fetched as JSON")
    g.set_defaults(func=run_data_get)
    d.set_defaults(func=lambda args: (d.print_help(), 2)[1])


def _given(args) -> dict:
    """The config fields the user set by flag (argparse leaves the others None)."""
    return {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k, None) is not None}


def resolve_config(args):
    """``(config, given)``: the recipe's defaults overridden by ``given``, the flags the user gave."""
    from adamkit.train.config import resolve

    given = _given(args)
    return resolve(args.recipe, given), given


WAYS = "--resume to continue it, --overwrite to replace it"


def run_train(args) -> int:
    """``adamkit train``: here, or (``--nproc``) through torch's elastic launcher."""
    from adamkit import outdir
    from adamkit.train import launch

    if not launch.requested(args):
        return train_here(args)
    from adamkit.train.trainer import OUTPUTS

    cfg, _ = resolve_config(args)  # a bad flag is one line here, before any process starts
    launch.check_world(args, cfg.batch_size)
    if cfg.diagnostics and args.shard:
        from adamkit.train.distributed import DIAGNOSTICS_SHARDED

        raise UsageError(DIAGNOSTICS_SHARDED)
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in OUT, --overwrite replaces it; give one")
    if not args.resume:
        outdir.check(Path(args.out or f"runs/{cfg.recipe}"), OUTPUTS, overwrite=args.overwrite,
                     ways=WAYS)
    return launch.launch(args)


def train_here(args, runtime=None) -> int:
    """Train in this process (``runtime``: one of several, see adamkit.train.distributed)."""
    from adamkit import outdir
    from adamkit.train import checkpoint
    from adamkit.train.config import TrainConfig
    from adamkit.train.distributed import Runtime
    from adamkit.train.trainer import OUTPUTS, Trainer

    runtime = runtime or Runtime()
    cfg, given = resolve_config(args)
    out = Path(args.out or f"runs/{cfg.recipe}")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in OUT, --overwrite replaces it; give one")
    ways = WAYS
    if not args.resume and runtime.is_main:  # fail fast, before the data loads
        outdir.check(out, OUTPUTS, overwrite=args.overwrite, ways=ways)
    found = None
    if args.resume:  # read on rank 0, sent to the others
        found = runtime.from_main(
            lambda: checkpoint.load_latest(outdir.check_folder(out) / "checkpoints"))
        saved = TrainConfig.from_dict(found[0]["config"])
        used = found[0].get("threads", saved.threads)  # the thread count the run used
        for key, value in given.items():
            if key in ("epochs", "data_dir"):
                setattr(saved, key, value)
            elif key == "threads" and value != used:
                raise UsageError(f"--resume: --threads {value} differs from the {used} the "
                                 "checkpointed run used; only --epochs and --data-dir may change")
            elif key == "threads":
                continue
            elif saved.to_dict()[key] != TrainConfig.from_dict({key: value}).to_dict()[key]:
                raise UsageError(
                    f"--resume: --{key.replace('_', '-')} {value!r} differs from the checkpoint's "
                    f"{saved.to_dict()[key]!r}; only --epochs and --data-dir may change"
                )
        cfg = saved
    trainer = Trainer(cfg, out, quiet=args.quiet or not runtime.is_main,
                      log_every=args.log_every if runtime.is_main else 0, plots=args.plots,
                      runtime=runtime)
    if not args.resume and runtime.is_main:  # all validated: only now may a run be replaced
        outdir.prepare(out, OUTPUTS, overwrite=args.overwrite, ways=ways)
    runtime.barrier()
    result = trainer.run(resume=args.resume, found=found)
    if not runtime.is_main:
        return 130 if result.interrupted else 0
    if args.json:
        print(json.dumps(result.summary, indent=2))
    elif not args.quiet and not result.interrupted:
        s = result.summary
        acc = "" if s["test_accuracy"] is None else f"test accuracy {s['test_accuracy']:.4f}, "
        print(f"{acc}test loss {s['test_loss']:.4f} after {s['epochs']} epochs "
              f"({s['seconds']:.1f} s training); results in {out}", file=sys.stderr)
    return 130 if result.interrupted else 0


def run_compare(args) -> int:
    from adamkit import outdir
    from adamkit.train import optim_factory
    from adamkit.train.compare import compare, configs_for, format_table

    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    if not names:
        raise UsageError("--optimizers is empty; give e.g. adam,sgd,rmsprop")
    configs = configs_for(args.recipe, _given(args), names)
    _check_optimizers(configs)
    out = Path(args.out or f"runs/compare-{configs[names[0]].dataset}")
    # an earlier comparison here (its files, any optimizer's run folder) is refused, not mixed in
    out = outdir.prepare(out, ("compare.json", "compare.png", *optim_factory.OPTIMIZERS),
                         overwrite=args.overwrite)
    result = compare(configs, out, quiet=args.quiet, plots=args.plots)
    if not args.quiet or not args.json:
        print(format_table(result["table"]), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def _check_optimizers(configs: dict) -> None:
    """Build each optimizer of a comparison on a dummy parameter, so that a value one of them
    refuses (e.g. --betas for the third) stops the command before the first one trains."""
    import torch

    from adamkit.train import optim_factory

    for n, cfg in configs.items():
        try:
            optim_factory.build(n, [torch.nn.Parameter(torch.zeros(1))], cfg.optimizer_options())
        except UsageError:
            raise
        except ValueError as exc:  # torch.optim's own range checks raise plain ValueErrors
            raise UsageError(str(exc)) from None


def run_data_get(args) -> int:
    from adamkit.train.download import get

    fetched = get(args.name, Path(args.to), mirror=args.mirror, quiet=args.quiet)
    if args.json:
        print(json.dumps(fetched, indent=2))
    elif not args.quiet:
        print(f"{args.name}: {len(fetched['files'])} file(s) verified in {args.to}", file=sys.stderr)
    return 0
