"""Rollout backends: run a list of independent tasks in-process, in local processes, or on Ray.

Every backend returns results in task order and tasks carry their own seeds, so a computation built
on ``Backend.map`` gives bit-identical results whichever backend runs it. Ray is optional: it is
imported only when ``backend="ray"`` is chosen; ``ray_address`` joins an existing cluster
(``ray.init(address=...)``), otherwise a local Ray instance is started.
"""
from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor

from ...errors import ConfigError

BACKENDS = ("inline", "process", "ray")


class Backend(ABC):
    """Runs ``fn(task)`` for each task and returns the results in order."""

    name = "abstract"

    def __init__(self, n_workers: int):
        self.n_workers = int(n_workers)

    @abstractmethod
    def map(self, fn, tasks: list) -> list:
        """Results of fn over tasks, in task order."""

    def close(self) -> None:
        """Release workers (no-op for the in-process backend)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InlineBackend(Backend):
    """Runs every task in the calling process, one after the other."""

    name = "inline"

    def map(self, fn, tasks):
        return [fn(t) for t in tasks]


class ProcessBackend(Backend):
    """A pool of local worker processes (spawned, so no state is inherited by accident)."""

    name = "process"

    def __init__(self, n_workers: int):
        super().__init__(n_workers)
        self._pool = ProcessPoolExecutor(max_workers=self.n_workers,
                                         mp_context=multiprocessing.get_context("spawn"))

    def map(self, fn, tasks):
        return list(self._pool.map(fn, tasks))

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayBackend(Backend):
    """Ray tasks on a local instance (started with ``n_workers`` CPUs) or on the cluster at
    ``ray_address``. Ray stays initialised after ``close`` so later agents reuse it."""

    name = "ray"

    def __init__(self, n_workers: int, ray_address: str | None = None):
        super().__init__(n_workers)
        try:
            import ray
        except ImportError as e:
            raise ConfigError("backend='ray' needs Ray, which is not installed. HINT: pip install 'ray>=2.9' "
                              "(or the project's [ray] extra), or use backend='process'.") from e
        self._ray = ray
        if not ray.is_initialized():
            if ray_address is None:
                ray.init(num_cpus=self.n_workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
        self._remote = {}

    def map(self, fn, tasks):
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=1)(fn)
        return self._ray.get([remote.remote(t) for t in tasks])


def make_backend(backend: str = "inline", n_workers: int | None = None, ray_address: str | None = None) -> Backend:
    """Build a backend by name: "inline", "process" or "ray"."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if n_workers is None:
        n_workers = 1 if backend == "inline" else max(1, os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    if ray_address is not None and backend != "ray":
        raise ConfigError(f"ray_address is only used with backend='ray', got backend={backend!r}")
    if backend == "inline":
        return InlineBackend(n_workers)
    if backend == "process":
        return ProcessBackend(n_workers)
    return RayBackend(n_workers, ray_address)
