"""One training run: a resolved RunConfig and a preprocessed matrix in, metrics and a record out.

The loop is deliberately plain (nanoGPT style): the data is one tensor on the device, each epoch
draws a permutation and batches are index slices of it, validation runs under inference mode.
One seed drives the split, the weights, the batch order and every sample of z, so the same
config on CPU gives the same numbers.

Stopping and outcomes:
- fixed epochs (`epochs`), or early stopping (`early_stopping: true`): stop at the first epoch
  where the validation reconstruction loss has improved on the best of all earlier epochs by
  less than `min_delta` (relative, 0.01 = 1%) for `patience` consecutive epochs (default 1:
  the first such epoch, the studies' rule). `convergence_epoch` is that epoch, computed the same
  way for fixed-epoch runs (where training goes on).
- a non-finite loss or parameter ends the run as "diverged" (exit 0, epochs so far kept);
  running out of device memory ends it as "failed". Both are results, not crashes.

With `save_latent`, the run also keeps its encoder means mu [n_samples x latent] for every sample
of the matrix (its row order, i.e. samples.txt), computed after the last epoch with the model
in eval mode (BatchNorm running statistics, no sampling): `run` writes them as latent.npy; and
the same of its encoder as initialised, before any training, as latent_untrained.npy (the
untrained-encoder baseline of the latent scores; computing it draws no random numbers from
torch's generator, so the run trains as it would without it). With latent_kind: sample both
hold one draw of z per sample instead, from a generator of their own seeded with the run's.

The KL weight w: `kld_weight` null is M_N = batch / n_train with reconstruction "mean" (the
studies), 1 with "sum" (each model's published objective); a model may fix it (DIPVAE's fork).
With `kl_warmup: E` the training steps' weight rises linearly, w t / (E n) at the t-th step
(n steps per epoch), reaching w at the end of epoch E (Bowman et al. 2016); validation always
uses the full weight, so its curve compares across epochs, and early stopping waits for the
warm-up to end. Every run records its KL pressure (base.kl_pressure) and, after training, how
it uses its latent units on the validation set (`latent_usage`): the KL of each unit, how many
are active, and whether the run collapsed (config.ACTIVE_VARIANCE, config.KL_FLOOR).
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import dataclasses
import datetime
import importlib.metadata
import io
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .code import TRAINING, checksum, modules
from .config import (
    ACTIVE_VARIANCE,
    KL_FLOOR,
    LOSS_PARTS,
    METRIC_COLUMNS,
    ConfigError,
    RunConfig,
)
from .data import (
    Preprocessed,
    apply_scaler,
    fit_scaler,
    sha256_bytes,
    split_indices,
    write_atomic,
)
from .gpu import expects_gpu, gather, problem
from .inits import apply_init
from .models import Objective, build_model, resolve_objective, resolved_params
from .optim import Optimizer
from .private_torch import set_deterministic

# What preprocessing decided, copied from its summary into every run.json.
PREPROCESSING_CHOICES = ("top_k", "variability", "na_policy", "duplicates", "normals",
                         "normal_samples_dropped", "transform", "genes_sha256")
TRAINED, UNTRAINED = "latent", "latent_untrained"  # the latent files' names (.npy)


def _keep_freed_memory() -> None:
    """Stop glibc from returning each freed ~20 MB activation buffer to the kernel every step
    (the page faults on re-allocation cost 10-25% of a CPU epoch; bench/NOTES-cpu-speed.md)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 64 * 2**20)
        libc.mallopt(m_trim_threshold, 2**30)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def configure_runtime(device: str, threads: int | None) -> torch.device:
    """The one place that picks the device and sets threads, memory, TF32 and determinism for
    a run. A job that must train on a GPU (device cuda, or auto with a GPU given) and cannot
    fails here, saying why (vaebench.gpu), instead of training on the CPU unseen."""
    where = expects_gpu(device)
    if where:
        why = problem(where, gather())
        if why:
            raise ConfigError(why)
    if device in ("auto", "any"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if threads:
        torch.set_num_threads(threads)
    _keep_freed_memory()
    # Same seed and config give the same numbers on CPU; on GPU, TF32 matmuls are ~an order of
    # magnitude faster and well inside the seed-to-seed spread the studies measure.
    # torch.use_deterministic_algorithms would import torch._inductor (and with it dynamo and
    # sympy) only to set a flag for torch.compile, which we never use: 1.5-3 s of every job's
    # start on 2 cores. The flag the eager kernels read is this one.
    set_deterministic(device == "cpu")
    # Deterministic mode would also fill every new tensor with NaN (a debugging aid that cost
    # ~15% of a CPU epoch); our outputs never read uninitialised memory.
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return torch.device(device)


def _epoch_row(prefix: str, parts: dict[str, torch.Tensor], sums: torch.Tensor,
               n_batches: int) -> dict[str, float]:
    """Mean of each loss part over the epoch's batches; NaN for the parts the model lacks.
    `parts`: the last step's parts, whose names `sums` follows."""
    means = dict(zip(parts, (sums / max(n_batches, 1)).tolist()))
    return {f"{prefix}_{part}": means.get(part, math.nan) for part in LOSS_PARTS}


def _add_parts(sums: torch.Tensor | None, parts: dict[str, torch.Tensor]) -> torch.Tensor:
    """sums + this step's loss parts, in the model's own order (the same every step). A stack
    and an add per step: no host sync, no new tensor from the host."""
    step = torch.stack([part.detach() for part in parts.values()])
    return step if sums is None else sums.add_(step)


def _out_of_memory(err: RuntimeError) -> bool:
    """CUDA raises OutOfMemoryError; torch's CPU allocator a plain RuntimeError."""
    return isinstance(err, torch.OutOfMemoryError) or "can't allocate memory" in str(err)


def _non_finite_params(model: torch.nn.Module) -> bool:
    # A sum is non-finite iff some element is (or the weights are ~1e38: diverged all the same).
    sums = torch.stack([p.detach().sum() for p in model.parameters()])
    return not torch.isfinite(sums).all().item()


def converged_at(curve: list[float], min_delta: float, patience: int,
                 rule: str = "relative_recon", min_epochs: int = 1) -> int | None:
    """1-based epoch at which early stopping ends a run with this validation `curve`; None if
    it never does. An epoch "stalls" when it does not improve enough on the best so far; the run
    stops at the first epoch, not before `min_epochs`, that ends `patience` stalls in a row.
    - "relative_recon" (the studies; curve = validation reconstruction): a stall improves on
      the best of all earlier epochs by < min_delta relative (0.01 = 1%).
    - "absolute_loss" (the benchmark's PyTorch Lightning EarlyStopping, mode min; curve = total
      validation loss): an epoch improves when it is below the best by more than min_delta
      (absolute), and only then becomes the best."""
    best, stalls = math.inf, 0
    for epoch, value in enumerate(curve, start=1):
        if rule == "absolute_loss":
            if value < best - min_delta:
                best, stalls = value, 0
            else:
                stalls += 1
        else:
            if math.isfinite(best):
                stalls = stalls + 1 if (best - value) / abs(best) < min_delta else 0
            best = min(best, value)
        if stalls >= patience and epoch >= min_epochs:
            return epoch
    return None


def _stopping_curve(cfg: RunConfig, rows: list[dict]) -> list[float]:
    """The validation curve the run's stopping rule watches."""
    key = "val_loss" if cfg.stopping == "absolute_loss" else "val_recon"
    return [r[key] for r in rows]


class EpochReport:
    """Progress of one run, after each epoch: a line for a log (`tail -f` shows a long run
    moving), or, when `bar` (a terminal), one status line redrawn in place.

    "Left at this pace" is the mean epoch time so far times the epochs to go; with early
    stopping the run may end sooner, and the line says so.
    """

    BAR_WIDTH = 30

    def __init__(self, epochs: int, stream, bar: bool = False, early_stopping: bool = False):
        self.epochs, self.stream, self.bar = epochs, stream, bar
        self.caveat = " (at most: early stopping)" if early_stopping else ""
        self.seconds = 0.0

    def __call__(self, row: dict) -> None:
        epoch = row["epoch"]
        self.seconds += row["seconds"]
        left = _duration(self.seconds / epoch * (self.epochs - epoch))
        if self.bar:
            done = round(self.BAR_WIDTH * epoch / self.epochs)
            self.stream.write(f"\r|{'#' * done}{'.' * (self.BAR_WIDTH - done)}| "
                              f"{epoch}/{self.epochs} epochs  val loss {row['val_loss']:.6g}  "
                              f"~{left} left{self.caveat}  ")
        else:
            self.stream.write(f"epoch {epoch}/{self.epochs}: train loss {row['train_loss']:.6g}, "
                              f"val loss {row['val_loss']:.6g}, {row['seconds']:.2f} s; "
                              f"~{left} left at this pace{self.caveat}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    """1 h 02 m, 3 m 05 s, 12 s."""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} m"
    if seconds >= 60:
        return f"{seconds // 60} m {seconds % 60:02d} s"
    return f"{seconds} s"


def train_run(cfg: RunConfig, data: Preprocessed) -> tuple[list[dict], dict]:
    """Train one run. Returns (metrics rows, one per epoch; run record for run.json)."""
    rows, record, _ = fit(cfg, data)
    return rows, record


@dataclass
class Split:
    """A run's data: the training and validation rows on the device, the scaling the
    preprocessing applied, and the run's own scaler where it fits one (scale_fit: train)."""
    x_train: torch.Tensor
    x_val: torch.Tensor
    scaling: str
    describe: str  # the split in words, for messages
    scaler: tuple[np.ndarray, np.ndarray] | None = None

    def every_sample(self, x: np.ndarray) -> np.ndarray:
        """All rows of the matrix as the model sees them (for the latent means)."""
        return x if self.scaler is None else apply_scaler(x, *self.scaler)


@dataclass
class Schedule:
    """The run's steps: batches per epoch, the KL warm-up's steps, the validation batch, and
    the first epoch early stopping may end."""
    n_batches: int
    warmup_steps: int
    val_batch: int
    min_epochs: int


def fit(cfg: RunConfig, data: Preprocessed,
        progress=None) -> tuple[list[dict], dict, np.ndarray | None]:
    """train_run, plus the encoder means of all samples when cfg.save_latent (else None):
    {TRAINED: after training, UNTRAINED: as initialised}.
    `progress`: called with each epoch's metrics row as it ends (an EpochReport)."""
    started = time.perf_counter()
    device = configure_runtime(cfg.device, cfg.threads)
    torch.manual_seed(cfg.seed)
    batch_gen = torch.Generator().manual_seed(cfg.seed)
    split = split_data(cfg, data, device)
    schedule = check_run(cfg, split)

    output = cfg.output
    if output == "auto":  # sigmoid only where the data live in [0, 1]
        output = "sigmoid" if split.scaling == "minmax" else "linear"
    n_train, n_genes = split.x_train.shape
    model = build_model(cfg.model, n_genes, cfg.latent, cfg.hidden, output, cfg.model_params,
                        cfg.activation, cfg.reconstruction)
    init_touched = apply_init(model, cfg.init, cfg.init_layers)
    model.to(device)
    # torch.optim's arithmetic (Adam fused: one kernel per step), without its start-up cost
    optimizer = Optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    grad_clip = model.default_grad_clip if cfg.grad_clip == "auto" else cfg.grad_clip
    objective = resolve_objective(model, cfg.kld_weight, cfg.batch_size, n_train,
                                  len(split.x_val), n_genes)

    latents = None
    if cfg.save_latent:  # the untrained-encoder baseline: the same encoder, as initialised
        # sampled z draws from a generator of its own: training's random numbers stay the same
        draws = (torch.Generator(device=device).manual_seed(cfg.seed)
                 if cfg.latent_kind == "sample" else None)
        x_all = split.every_sample(data.x)
        latents = {UNTRAINED: encode_means(model, x_all, schedule.val_batch, device, draws)}

    rows, status, stop_reason, error = train_loop(cfg, model, optimizer, objective, grad_clip,
                                                  split, schedule, batch_gen, progress)

    if latents is not None:
        latents[TRAINED] = encode_means(model, x_all, schedule.val_batch, device, draws)
    usage = latent_usage(model, split.x_val, schedule.val_batch) if status != "failed" else None
    record = run_record(cfg, data, rows, status, stop_reason, error, usage, split, schedule,
                        objective, {"output": output, "grad_clip": grad_clip,
                                    "init_layers_touched": init_touched}, device)
    record["wall_seconds"] = time.perf_counter() - started
    return rows, record, latents


def split_data(cfg: RunConfig, data: Preprocessed, device: torch.device) -> Split:
    """The run's split of the samples (its seed's), scaled on the training rows where the
    preprocessing left that to the run (scale_fit: train), on the device."""
    train_idx, val_idx = split_indices(len(data.x), cfg.val_fraction, cfg.seed)
    x_train, x_val = data.x[train_idx], data.x[val_idx]
    scaling, scaler = data.summary.get("scaling", "none"), None
    if data.summary.get("scale_fit") == "train":
        scaler = fit_scaler(x_train, scaling)
        x_train, x_val = apply_scaler(x_train, *scaler), apply_scaler(x_val, *scaler)
    describe = (f"of {len(data.x)} samples, val_fraction={cfg.val_fraction} leaves "
                f"{len(x_train)} for training and {len(x_val)} for validation")
    return Split(torch.as_tensor(np.ascontiguousarray(x_train), device=device),
                 torch.as_tensor(np.ascontiguousarray(x_val), device=device), scaling,
                 describe, scaler)


def check_run(cfg: RunConfig, split: Split) -> Schedule:
    """The checks only the data can make (ConfigError naming the setting), and the schedule.
    BatchNorm (training) and InfoVAE's B(B-1) cannot take a batch of one sample; the message
    names the setting the user chose (without val_batch_size, that is val_fraction)."""
    n_train, n_val = len(split.x_train), len(split.x_val)
    if cfg.batch_size > n_train:
        raise ConfigError(f"batch_size={cfg.batch_size} exceeds the training samples: "
                          f"{split.describe}")
    if n_val == 1:
        raise ConfigError(f"val_fraction={cfg.val_fraction} leaves 1 of the {n_train + 1} "
                          "samples for validation, and a validation batch needs at least 2: "
                          "raise val_fraction")
    for key, size, n in (("batch_size", cfg.batch_size, n_train if not cfg.drop_last else 0),
                         ("val_batch_size", cfg.val_batch_size, n_val)):
        if size is not None and (size == 1 or (n and n % size == 1)):
            raise ConfigError(f"{key}={size} leaves a batch of one sample ({split.describe}); "
                              f"choose another {key}")
    n_batches = n_train // cfg.batch_size if cfg.drop_last else math.ceil(n_train / cfg.batch_size)
    # early stopping (and the convergence epoch) wait for the KL weight to reach its value
    return Schedule(n_batches, cfg.kl_warmup * n_batches, cfg.val_batch_size or n_val,
                    max(cfg.min_epochs, cfg.kl_warmup))


def train_loop(cfg: RunConfig, model, optimizer: Optimizer, objective: Objective,
               grad_clip: float | None, split: Split, schedule: Schedule,
               batch_gen: torch.Generator,
               progress=None) -> tuple[list[dict], str, str, str | None]:
    """The epochs, plain: (metrics rows, status, stop reason, error)."""
    x_train, x_val = split.x_train, split.x_val
    n_train, n_batches, val_batch = len(x_train), schedule.n_batches, schedule.val_batch
    warmup_steps = schedule.warmup_steps
    rows: list[dict] = []
    status, stop_reason, error = "ok", f"completed {cfg.epochs} epochs", None
    for epoch in range(1, cfg.epochs + 1):
        epoch_start = time.perf_counter()
        lr = optimizer.lr
        try:
            model.train()
            model.dataset_size = n_train
            perm = torch.randperm(n_train, generator=batch_gen).to(x_train.device)
            train_sums = None
            for b in range(n_batches):
                x = x_train[perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]
                step = (epoch - 1) * n_batches + b + 1
                weight = objective.kld_weight * min(step / warmup_steps, 1.0) if warmup_steps \
                    else objective.kld_weight
                parts = model.loss(x, model(x), weight)
                optimizer.zero_grad()
                parts["loss"].backward()
                if grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                optimizer.step()
                train_sums = _add_parts(train_sums, parts)
            optimizer.decay(cfg.scheduler_gamma)  # ExponentialLR, once per epoch

            model.eval()
            model.dataset_size = len(x_val)
            val_sums = None
            n_val_batches = math.ceil(len(x_val) / val_batch)
            with torch.inference_mode():
                for b in range(n_val_batches):
                    x = x_val[b * val_batch:(b + 1) * val_batch]
                    val_parts = model.loss(x, model(x), objective.val_kld_weight)
                    val_sums = _add_parts(val_sums, val_parts)
        except RuntimeError as err:
            if not _out_of_memory(err):
                raise
            status, stop_reason, error = "failed", f"out of memory in epoch {epoch}", str(err)
            break
        row = {**cfg.axes, "epoch": epoch, **_epoch_row("train", parts, train_sums, n_batches),
               **_epoch_row("val", val_parts, val_sums, n_val_batches), "lr_epoch": lr,
               "seconds": time.perf_counter() - epoch_start}
        rows.append(row)
        if progress is not None:
            progress(row)
        if not (math.isfinite(row["train_loss"]) and math.isfinite(row["val_loss"])) \
                or _non_finite_params(model):
            status, stop_reason = "diverged", f"non-finite loss or parameters in epoch {epoch}"
            break
        if cfg.early_stopping and converged_at(_stopping_curve(cfg, rows), cfg.min_delta,
                                               cfg.patience, cfg.stopping,
                                               schedule.min_epochs) == epoch:
            stop_reason = (f"validation reconstruction improved < {cfg.min_delta:.0%}"
                           if cfg.stopping == "relative_recon" else
                           f"validation loss improved by <= {cfg.min_delta}")
            stop_reason += f" for {cfg.patience} epoch(s) at epoch {epoch}"
            break
    return rows, status, stop_reason, error


def run_record(cfg: RunConfig, data: Preprocessed, rows: list[dict], status: str,
               stop_reason: str, error: str | None, usage: dict | None, split: Split,
               schedule: Schedule, objective: Objective, resolved: dict,
               device: torch.device) -> dict:
    """run.json's content: the outcome, the convergence measures, latent usage, the settings as
    given and as resolved (the objective's included), the data, the device, the versions and
    the code's checksum."""
    ok_rows = [r for r in rows if math.isfinite(r["val_loss"])]
    best = min(ok_rows, key=lambda r: r["val_loss"]) if ok_rows else None
    n_train, n_genes = split.x_train.shape
    return {
        "status": status,
        "stop_reason": stop_reason,
        "error": error,
        "epochs_run": len(rows),
        "best_epoch": best["epoch"] if best else None,
        "best_val_loss": best["val_loss"] if best else None,
        "final_val_loss": rows[-1]["val_loss"] if rows else None,
        "convergence_epoch": converged_at(_stopping_curve(cfg, ok_rows), cfg.min_delta,
                                          cfg.patience, cfg.stopping, schedule.min_epochs),
        "divergence_epoch": rows[-1]["epoch"] if status == "diverged" else None,
        "latent_usage": usage,
        "config": dataclasses.asdict(cfg),
        "resolved": {"model_params": resolved_params(cfg.model, cfg.model_params),
                     "output": resolved["output"], "grad_clip": resolved["grad_clip"],
                     "kld_weight": objective.kld_weight,
                     "val_kld_weight": objective.val_kld_weight,
                     "reconstruction": objective.reconstruction,
                     "kl_pressure": objective.kl_pressure,
                     "kl_warmup_steps": schedule.warmup_steps,
                     "init_layers_touched": resolved["init_layers_touched"],
                     "n_batches_per_epoch": schedule.n_batches,
                     "val_batch_size": schedule.val_batch},
        "data": {"n_train": n_train, "n_val": len(split.x_val), "n_genes": n_genes,
                 **{key: data.summary.get(key) for key in PREPROCESSING_CHOICES},
                 "scaling": split.scaling, "scale_fit": data.summary.get("scale_fit", "all")},
        "device": _describe_device(device),
        "versions": _versions(),
        "code_sha256": checksum(modules(TRAINING)),
    }


def latent_usage(model: torch.nn.Module, x: torch.Tensor, batch: int) -> dict:
    """How the trained model uses its latent units on the validation samples x (eval mode):
    kl_per_dim, the mean KL of each unit from its prior [U]; kl_per_sample, their sum;
    active_units, the units whose mean varies over the samples by more than ACTIVE_VARIANCE
    (for a categorical unit, its class probabilities' variances summed); collapsed, no active
    unit or kl_per_sample below KL_FLOOR (None where the model is not finite: diverged)."""
    model.eval()
    kls, means = [], []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            kl, mean = model.latent_units(x[start:start + batch])
            kls.append(kl.double())
            means.append(mean.double())
    kl, mean = torch.cat(kls), torch.cat(means)
    per_dim = kl.mean(0)
    activity = mean.var(0, unbiased=False).sum(-1)
    finite = bool(torch.isfinite(per_dim).all() and torch.isfinite(activity).all())
    active = int((activity > ACTIVE_VARIANCE).sum()) if finite else None
    per_sample = float(per_dim.sum())
    return {"kl_per_dim": [float(v) for v in per_dim], "kl_per_sample": per_sample,
            "active_units": active, "n_units": len(per_dim),
            "collapsed": (active == 0 or per_sample < KL_FLOOR) if finite else None}


def encode_means(model: torch.nn.Module, x: np.ndarray, batch: int, device: torch.device,
                 generator: torch.Generator | None = None) -> np.ndarray:
    """The model's latent means (`embed`: mu [n x D] for most models) of the rows of x, in eval
    mode, `batch` rows at a time; with a `generator`, one draw of z per row instead
    (latent_kind: sample). A diverged model gives non-finite means; running out of memory
    gives NaN (both recorded)."""
    model.eval()
    out = np.full((len(x), model.embed_width), np.nan, dtype=np.float32)
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch):
                # a copy: x may be the read-only memory map of the preprocessed file
                chunk = torch.as_tensor(np.array(x[start:start + batch]), device=device)
                out[start:start + batch] = model.embed(chunk, generator).float().cpu().numpy()
    except RuntimeError as err:
        if not _out_of_memory(err):
            raise
        out[:] = np.nan
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _describe_device(device: torch.device) -> dict:
    """Where the run ran. The CPU's model and the vector instructions torch's kernels use
    (`cpu_capability`) name the machine whose last digits a rerun reproduces (docs/decisions.md,
    "Repeatability")."""
    info = {"type": device.type, "threads": torch.get_num_threads(),
            "host": platform.node(), "cpu": platform.processor() or platform.machine(),
            "cpu_model": _cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    return info


def _cpu_model() -> str:
    """The CPU's model name as Linux reports it (/proc/cpuinfo), else what Python knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict:
    return {"vaebench": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__,
            "pandas": importlib.metadata.version("pandas"),
            "cuda": torch.version.cuda}


def _csv_bytes(rows: list[dict], columns: list[str]) -> bytes:
    """The rows as CSV, written as pandas' to_csv writes them (NaN and None empty, floats in
    their shortest repr), without importing pandas: the training job does not need it."""
    def cell(value):
        return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([cell(row.get(c)) for c in columns] for row in rows)
    return out.getvalue().encode()


def write_outputs(rows: list[dict], record: dict, metrics_path, run_json_path,
                  arrays: dict | None = None) -> None:
    """metrics.csv (one row per epoch, axis values as columns), the `arrays` ({path: array},
    as .npy: the latent means) and run.json, each atomically, as one set: run.json is removed
    first and written last, with the row count and sha256 of the others (`outputs`), so a
    folder never holds a record beside outputs it does not describe, and aggregation can tell a
    damaged file (analysis.tables.verified)."""
    columns = [*record["config"]["axes"], *METRIC_COLUMNS]
    metrics = _csv_bytes(rows, columns)
    outputs = {Path(metrics_path): metrics}
    for path, array in (arrays or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        outputs[Path(path)] = buffer.getvalue()
    Path(run_json_path).unlink(missing_ok=True)
    for path, content in outputs.items():
        write_atomic(path, content)
    record = {**record, "outputs": {path.name: {"sha256": sha256_bytes(content)}
                                    for path, content in outputs.items()}}
    record["outputs"][Path(metrics_path).name]["rows"] = len(rows)
    write_atomic(run_json_path, json.dumps(record, indent=2, default=str) + "\n")


def run(cfg: RunConfig, data: Preprocessed, metrics_path, run_json_path,
        latent_path=None, progress=None, gpu_slot: dict | None = None) -> dict:
    """Train and write the outputs (with cfg.save_latent also latent.npy at `latent_path` and
    latent_untrained.npy beside it); returns the record. `gpu_slot`: the GPU slot the job
    holds (slots.py), recorded under device."""
    if cfg.save_latent and latent_path is None:
        raise ConfigError("save_latent is on but no latent output path was given")
    started_at = _now()
    rows, record, latents = fit(cfg, data, progress)
    # Wall-clock stamps: runs sharing a GPU show their overlap in time.
    record.update(started_at=started_at, finished_at=_now())
    if gpu_slot is not None:
        record["device"]["gpu_slot"] = gpu_slot
    arrays = {Path(latent_path).with_name(f"{name}.npy"): latents[name]
              for name in (TRAINED, UNTRAINED)} if latents is not None else None
    write_outputs(rows, record, metrics_path, run_json_path, arrays)
    return record
