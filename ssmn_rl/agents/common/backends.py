"""Rollout backends: persistent workers in-process, in local processes, or on Ray.

A backend starts ``n_workers`` workers once (``start(factory, setup)``: each builds
``factory(setup)``, e.g. a policy, its envs and its buffers, and keeps it); every later
``call(method, payloads, common)`` sends payload k (merged with `common`, the part every worker
gets: sent once per call on Ray) to worker k and returns the results in worker order.
``submit`` + ``gather`` split a call in two, so that the driver can work while the workers do.
Only what changes travels per call (for ES: the parameters, seeds and observation statistics), and
computations carry their own seeds, so results are bit-identical whichever backend runs them.

A worker that dies (a killed process, a failed Ray actor) raises :class:`WorkerError` naming the
backend and the worker; the driver never waits on a dead worker. Ray is optional: it is imported
only when ``backend="ray"`` is chosen; ``ray_address`` joins an existing cluster
(``ray.init(address=...)``), otherwise a local Ray instance is started.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from abc import ABC, abstractmethod
from multiprocessing.connection import wait

from ...errors import ConfigError, SSMNError

BACKENDS = ("inline", "process", "ray")


class WorkerError(SSMNError, RuntimeError):
    """A rollout worker died or could not be reached (the message names the backend and worker)."""


class Backend(ABC):
    """``n_workers`` persistent workers; ``call`` runs one method on each with its own payload."""

    name = "abstract"

    def __init__(self, n_workers: int):
        self.n_workers = int(n_workers)
        self._started = False
        self._pending = None

    def start(self, factory, setup: dict, meanwhile=None) -> None:
        """Build ``factory(setup)`` once in every worker (factory: a picklable module-level callable).
        ``meanwhile()``, if given, runs here while the workers start."""
        if self._started:
            raise ConfigError(f"backend={self.name!r}: workers are already started; close() before start()")
        self._pending = None
        self._start(factory, setup, meanwhile or (lambda: None))
        self._started = True

    def call(self, method: str, payloads: list, common: dict | None = None) -> list:
        """``getattr(worker_k, method)({**common, **payloads[k]})`` for k < len(payloads), results
        in order (payloads are dicts when `common` is given)."""
        self.submit(method, payloads, common)
        return self.gather()

    def submit(self, method: str, payloads: list, common: dict | None = None) -> None:
        """Start :meth:`call`'s work; :meth:`gather` returns its results (one call at a time)."""
        if not self._started:
            raise ConfigError(f"backend={self.name!r}: call start(factory, setup) before call()")
        if len(payloads) > self.n_workers:
            raise ConfigError(f"backend={self.name!r}: {len(payloads)} payloads for {self.n_workers} workers")
        if self._pending is not None:
            raise ConfigError(f"backend={self.name!r}: gather() the submitted {self._pending[0]!r} first")
        self._pending = (method, len(payloads))
        self._submit(method, payloads, common)

    def gather(self) -> list:
        """The results of the submitted call, in worker order."""
        if self._pending is None:
            raise ConfigError(f"backend={self.name!r}: gather() without a submitted call")
        method, n = self._pending
        self._pending = None
        return self._gather(method, n)

    @property
    def started(self) -> bool:
        """Whether the workers are started (between ``start()`` and ``close()``)."""
        return self._started

    def worker_pids(self) -> list:
        """Process id of every worker (the calling process for the inline backend)."""
        return [os.getpid()] * self.n_workers

    @abstractmethod
    def _start(self, factory, setup: dict, meanwhile) -> None: ...

    @abstractmethod
    def _submit(self, method: str, payloads: list, common: dict | None) -> None: ...

    @abstractmethod
    def _gather(self, method: str, n: int) -> list: ...

    def close(self) -> None:
        """Release the workers (safe to call twice, and after a worker died)."""
        self._started = False
        self._pending = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InlineBackend(Backend):
    """Every worker object lives in the calling process; calls run one after the other."""

    name = "inline"

    def _start(self, factory, setup, meanwhile):
        meanwhile()
        self._workers = [factory(setup) for _ in range(self.n_workers)]

    def _submit(self, method, payloads, common):  # runs at gather(): there is no one else to run it
        self._work = [_merged(common, p) for p in payloads]

    def _gather(self, method, n):
        work, self._work = self._work, None
        return [getattr(w, method)(p) for w, p in zip(self._workers, work)]

    def close(self):
        self._workers = []
        super().close()


class _RemoteTraceback(Exception):
    """Carries a worker's traceback text as the cause of the exception it raised."""

    def __str__(self):
        return self.args[0]


def _send_error(conn, e: BaseException) -> None:
    tb = traceback.format_exc()
    try:
        conn.send(("error", (e, tb)))
    except Exception:  # noqa: BLE001 - an exception that does not pickle travels as text
        conn.send(("error", (RuntimeError(f"{type(e).__name__}: {e}"), tb)))


def _merged(common, payload):
    return payload if common is None else {**common, **payload}


def _exit_now(worker) -> None:
    """End a worker process without the interpreter's teardown (tens to hundreds of ms of module
    clean-up that the driver would wait for): close the worker, flush the output, exit."""
    close = getattr(worker, "close", None)
    try:
        if callable(close):
            close()
    finally:
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:  # noqa: BLE001 - a closed stream has nothing to flush
                pass
        os._exit(0)


def _process_main(conn, factory, setup) -> None:
    """Worker process loop: build the worker, then answer (method, payload) messages until None."""
    try:
        worker = factory(setup)
        conn.send(("ok", None))
    except BaseException as e:  # noqa: BLE001 - reported to the driver, which raises it
        _send_error(conn, e)
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            _exit_now(worker)
        method, payload, common = msg
        try:
            result = getattr(worker, method)(_merged(common, payload))
        except BaseException as e:  # noqa: BLE001
            _send_error(conn, e)
            continue
        conn.send(("ok", result))


#: Thread pools a worker process starts with one thread: a worker is one core's worth of rollouts,
#: and idle BLAS/OpenMP threads spinning beside it would take the core of the next worker.
_SINGLE_THREAD_ENV = ("SSMN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ProcessBackend(Backend):
    """Persistent local worker processes (spawned, so no state is inherited by accident), one pipe
    each. A worker that exits is noticed through its process sentinel, never by a timeout."""

    name = "process"

    def _start(self, factory, setup, meanwhile):
        ctx = multiprocessing.get_context("spawn")
        self._procs, self._conns = [], []
        saved = {k: os.environ.get(k) for k in _SINGLE_THREAD_ENV}
        os.environ.update({k: "1" for k, v in saved.items() if v is None})  # inherited by the children
        try:
            for _ in range(self.n_workers):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_process_main, args=(child, factory, setup), daemon=True)
                p.start()
                child.close()
                self._procs.append(p)
                self._conns.append(parent)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
        meanwhile()
        for k in range(self.n_workers):
            self._receive(k, "starting")

    def worker_pids(self) -> list:
        return [p.pid for p in self._procs]

    def _receive(self, k: int, what: str):
        conn, proc = self._conns[k], self._procs[k]
        while True:
            ready = wait([conn, proc.sentinel])
            if conn in ready:
                try:
                    status, value = conn.recv()
                except (EOFError, OSError):
                    break
                if status == "error":  # the worker raised: re-raise it here, its traceback as the cause
                    exc, tb = value
                    raise exc from _RemoteTraceback(f"\n(in backend='process' worker {k}, while {what})\n{tb}")
                return value
            if proc.sentinel in ready:
                break
        proc.join(timeout=1)
        code = proc.exitcode
        self.close()
        raise WorkerError(f"backend='process': worker {k} (pid {proc.pid}) died while {what} "
                          f"(exit code {code}). HINT: a negative code is the signal that killed it "
                          "(-9: killed, e.g. out of memory); the last checkpoint is unaffected.")

    def _submit(self, method, payloads, common):
        for k, p in enumerate(payloads):
            try:
                self._conns[k].send((method, p, common))
            except (BrokenPipeError, OSError):
                self._receive(k, f"running {method}")  # raises: the worker is gone

    def _gather(self, method, n):
        return [self._receive(k, f"running {method}") for k in range(n)]

    def close(self):
        for conn in getattr(self, "_conns", []):
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for p in getattr(self, "_procs", []):
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
        for conn in getattr(self, "_conns", []):
            conn.close()
        self._procs, self._conns = [], []
        super().close()


class _RayWorker:
    """Ray actor body: holds ``factory(setup)`` and runs its methods."""

    def __init__(self, factory, setup):
        self.worker = factory(setup)

    def pid(self) -> int:
        return os.getpid()

    def call(self, method, payload, common=None):
        return getattr(self.worker, method)(_merged(common, payload))


class RayBackend(Backend):
    """Persistent Ray actors (one CPU each) on a local instance (started with ``n_workers`` CPUs)
    or on the cluster at ``ray_address``. Ray stays initialised after ``close`` so later agents
    reuse it."""

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
        self._actors = []

    def _start(self, factory, setup, meanwhile):
        ray = self._ray
        cls = ray.remote(num_cpus=1, max_restarts=0)(_RayWorker)
        setup_ref = ray.put(setup)
        self._actors = [cls.remote(factory, setup_ref) for _ in range(self.n_workers)]
        meanwhile()
        self._get([a.pid.remote() for a in self._actors], "starting")

    def _get(self, refs, what: str):
        ray = self._ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayActorError as e:
            self.close()
            raise WorkerError(f"backend='ray': a worker actor died while {what}: {type(e).__name__}: {e}. "
                              "HINT: see the Ray logs (ray status, /tmp/ray/session_latest/logs); the last "
                              "checkpoint is unaffected.") from None

    def worker_pids(self) -> list:
        return self._get([a.pid.remote() for a in self._actors], "reporting its pid")

    def _submit(self, method, payloads, common):
        common_ref = None if common is None else self._ray.put(common)  # stored once, read by every actor
        self._refs = [a.call.remote(method, p, common_ref) for a, p in zip(self._actors, payloads)]

    def _gather(self, method, n):
        refs, self._refs = self._refs, None
        return self._get(refs, f"running {method}")

    def close(self):
        for a in self._actors:
            try:
                self._ray.kill(a)
            except Exception:  # noqa: BLE001 - an actor that is already gone needs no killing
                pass
        self._actors = []
        super().close()


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
