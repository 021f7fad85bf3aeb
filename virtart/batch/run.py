"""The batch driver: inputs to a Ray Data pipeline of :class:`~virtart.batch.worker.AlbumWorker`
actors, results to the manifest and a progress bar.

The driver holds paths and manifest rows only, never pixels: each worker decodes, paints
and writes its own files. Items are single-row blocks, so a worker killed mid-run costs
only its current item, which Ray retries on a restarted actor (outputs are renamed into
place only when complete; :func:`~virtart.batch.manifest.sweep_partials` removes what a
killed worker was writing). Ctrl-C shuts Ray down and leaves the manifest whole; the next
run skips every input already done with the same recipe.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from virtart.batch import manifest
from virtart.batch.inputs import Item, collect
from virtart.batch.recipe import Recipe
from virtart.batch.worker import AlbumWorker, DetectFactory, EngineFactory
from virtart.errors import VirtArtError

OBJECT_STORE_BYTES = 256 * 2**20  # items and rows are small; the pixels never enter the store


@dataclass
class Summary:
    """``done``/``failed`` this run, ``skipped`` (done by an earlier run with this recipe),
    ``seconds`` of wall time, ``failures`` as ``(input, error)``."""

    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        rate = f", {self.done / self.seconds:.2f} files/s" if self.done and self.seconds else ""
        return (f"{self.done} done, {self.failed} failed, {self.skipped} already done, of {self.total} "
                f"in {self.seconds:.1f} s{rate}")


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``), else start a local Ray on
    127.0.0.1 with no dashboard and no usage reports, its workers importing this virtart."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # the C++ core's notices, printed to the terminal
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise VirtArtError(f"cannot join the Ray cluster at {address} ({exc}); check --address") from None
        return
    package_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=OBJECT_STORE_BYTES,
             runtime_env={"env_vars": {"PYTHONPATH": python_path, "RAY_USAGE_STATS_ENABLED": "0"}}, **quiet)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A clear message at once for a cluster address nothing answers at (Ray itself retries for minutes)."""
    import socket

    if address in ("auto", "local"):
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except ValueError:
        raise VirtArtError(f"--address {address}: expected HOST:PORT (or ray://HOST:PORT)") from None
    except OSError as exc:
        raise VirtArtError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); "
                           "check --address or RAY_ADDRESS") from None


def pending(items: list[Item], recipe: Recipe, out_dir: Path) -> list[Item]:
    """The items the manifest does not record as done with this recipe."""
    rows = manifest.read(out_dir)
    return [item for item in items if not manifest.is_done(rows.get(item.path), recipe.digest, out_dir)]


def run_batch(recipe: Recipe, inputs: list[str], out_dir: str | os.PathLike, *, workers: int | None = None,
              address: str | None = None, device: str = "auto", engine_factory: EngineFactory | None = None,
              detect_factory: DetectFactory | None = None, progress: bool | None = None) -> Summary:
    """Apply ``recipe`` to every input not yet done in ``out_dir``; see the module docstring.

    ``workers``: actors in the pool (default: one per GPU, else 1). ``progress``: a tqdm bar
    (None: only on a terminal). Factories are built inside each worker (tests pass tiny ones).
    """
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    items = collect(inputs, out)
    todo = pending(items, recipe, out)
    summary = Summary(total=len(items), skipped=len(items) - len(todo))
    manifest.sweep_partials(out)
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    import ray

    local = not (address or os.environ.get("RAY_ADDRESS"))
    start_ray(address)
    try:
        _execute(ray, recipe, todo, out, summary, workers, device, engine_factory, detect_factory, progress)
    finally:
        if local:
            ray.shutdown()
        manifest.sweep_partials(out)
        summary.seconds = time.perf_counter() - started
    return summary


def _execute(ray, recipe: Recipe, todo: list[Item], out: Path, summary: Summary, workers: int | None,
             device: str, engine_factory, detect_factory, progress: bool | None) -> None:
    from tqdm import tqdm

    data = ray.data
    for name in ("ray", "ray.data"):  # after ray.data set up its loggers: our bar and summary speak for it
        logging.getLogger(name).setLevel(logging.ERROR)
    context = data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts files, failures and the time left
    context.print_on_execution_start = False
    gpus = int(ray.cluster_resources().get("GPU", 0))
    workers = workers or max(1, gpus)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)
    dataset = data.from_items([asdict(item) for item in todo], override_num_blocks=len(todo))
    results = dataset.map_batches(
        AlbumWorker, batch_size=1, batch_format="numpy",
        fn_constructor_kwargs={"recipe": recipe.source, "base_dir": str(Path(recipe.base_dir).resolve()),
                               "out_dir": str(out), "device": device, "engine_factory": engine_factory,
                               "detect_factory": detect_factory},
        compute=data.ActorPoolStrategy(size=workers),
        num_cpus=cpus, num_gpus=min(1.0, gpus / workers) if gpus else 0,
        max_restarts=-1, max_task_retries=-1,  # a killed worker is replaced and its item redone
    )
    writer = manifest.Writer(out)
    bar = tqdm(total=len(todo), unit="file", desc="batch", disable=not sys.stderr.isatty() if progress is None
               else not progress)
    try:
        for row in results.iter_rows():
            record = {key: row[key] for key in ("input", "output", "recipe", "seconds", "error")}
            record["seconds"] = float(record["seconds"])
            record["regions"] = json.loads(row["regions"])
            record["error"] = record["error"] or None
            writer.append(record)
            if record["error"]:
                summary.failed += 1
                summary.failures.append((record["input"], record["error"]))
            else:
                summary.done += 1
            bar.set_postfix(done=summary.done, failed=summary.failed, refresh=False)
            bar.update(1)
    finally:
        bar.close()
        writer.close()
