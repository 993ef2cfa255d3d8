"""The async loop: propose → evaluate (sandboxed) → archive → select, under budgets.

Up to ``concurrency.proposals`` proposals and ``concurrency.evaluations`` evaluations
are in flight at once, so a slow model and a slow evaluator overlap. Every state
change goes through the run database first; the in-memory archive is rebuilt from it
on resume, which makes ``kill -9`` at any moment safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TypeVar

from .. import __version__
from .._config import RunConfig
from .._exceptions import ConfigError, ModelError, ModelUnavailableError, RunStoreError
from ..archive import Archive, Program
from ..evaluate import EvalResult, describe_isolation, evaluate_program
from ..memory import Advice
from ..models import Completion, EnsembleModel, Model, RecordingModel, model_info
from ..propose import NoveltyFilter, OperatorInfo, ProposalContext, get_operator
from ..sandbox._fs import remove_tree
from ..store import NewCandidate, RunStore, code_hash, is_transient, row_to_program
from ..task import Files, Task
from ._events import Event, EventHandler, EventKind, RunSummary
from ._find import find_model
from ._learning import RunMemory, new_run_candidates

# Proposal-side failures: the candidate never reached an evaluator, so the archive
# (which holds evaluated programs, including failed ones for `fix`) ignores them.
T = TypeVar("T")

PROPOSAL_FAILURES = frozenset(
    {"model_error", "parse_error", "edit_error", "scope_violation", "duplicate"}
)


def default_operators(model: Model | None, spec: str | None) -> dict[str, float]:
    """Operator weights when the config names none.

    Without a model: ``numeric_mutation``. With one, its catalog entry's preferred edit
    format decides: small local models write good block rewrites but poor diffs.
    """
    if model is None:
        return {"numeric_mutation": 1.0}
    edit_format = "diff"
    if spec is not None and "/" in spec and not spec.startswith(("python:", "scripted:")):
        edit_format = model_info(spec).edit_format
    if edit_format == "rewrite":
        return {"rewrite": 0.9, "fix": 0.1}
    return {"diff": 0.6, "rewrite": 0.3, "fix": 0.1}


class Engine:
    """Drives one run directory.

    Args:
        task: The task to evolve.
        config: The run configuration.
        run_dir: Where the run database lives (created or resumed).
        model: The model operators ask; None allows only model-free operators.
        on_event: Called with every :class:`Event` (progress display, logging).
        handle_signals: Turn SIGINT/SIGTERM into a graceful, resumable stop.
    """

    def __init__(
        self,
        task: Task,
        config: RunConfig,
        run_dir: Path,
        *,
        model: Model | None = None,
        on_event: EventHandler | None = None,
        handle_signals: bool = False,
    ) -> None:
        self.task = task
        self.config = config
        self.run_dir = Path(run_dir)
        self.model = model
        self._on_event = on_event
        self._handle_signals = handle_signals
        first = config.model[0] if isinstance(config.model, list) else config.model
        weights = config.propose.operators or default_operators(model, first)
        self._operators: list[tuple[OperatorInfo, float]] = []
        for name, weight in sorted(weights.items()):
            info = get_operator(name)
            if info.needs_model and model is None:
                raise ModelError(
                    f"operator {name!r} needs a model; pass --model or use numeric_mutation"
                )
            if weight > 0:
                self._operators.append((info, weight))
        if not self._operators:
            raise ModelError("no operator has a positive weight in propose.operators")
        self.archive = Archive(config.archive)
        self._novelty = NoveltyFilter(config.propose.novelty_threshold or 1.0)
        self._pending: set[int] = set()  # proposed, not yet evaluated
        self.failures: dict[str, int] = {}
        self._samples = 0
        self._model_backoff = 1.0
        self._stop_reason: str | None = None
        self._draining = False
        self._stopped = asyncio.Event()
        self._fatal: BaseException | None = None
        self._memory: RunMemory | None = None
        self._initial: set[int] = set()  # the seed and recalled programs, not yet evaluated
        self._learning: set[asyncio.Task[None]] = set()

    # -- public ------------------------------------------------------------------
    def request_stop(self, reason: str, *, drain: bool = False) -> None:
        """Stop the run. ``drain`` lets queued work finish; otherwise stop now.

        Evaluations cut short go back to ``queued`` and run again on resume.
        """
        if self._stop_reason is None:
            self._stop_reason = reason
            self._emit("stopping", message=reason)
        if drain:
            self._draining = True
        else:
            self._stopped.set()

    async def run(self) -> RunSummary:
        """Run until a budget is reached, the target is hit, or a stop is requested."""
        self.store = RunStore(self.run_dir)
        if (
            self.model is not None
            and self.config.propose.record
            and not isinstance(self.model, RecordingModel)  # already recording
        ):
            # Every prompt and reply goes into the run database (compressed), so a run
            # can be inspected and replayed (`--model replay:RUN_DIR`).
            self.model = RecordingModel(self.model, record=self.store.db)
        self._ensemble = find_model(self.model, EnsembleModel)
        try:
            self._open()
            self._install_signals()
            try:
                await self._loop()
            finally:
                self._remove_signals()
                self._save_elapsed()
                close = getattr(self.model, "aclose", None)
                if close is not None:
                    await close()
                if self._memory is not None:
                    self._memory.keep_best()
            return self._summary()
        finally:
            if self._memory is not None:
                await self._memory.aclose()
            self.store.close()

    # -- setup -------------------------------------------------------------------
    def _open(self) -> None:
        store = self.store
        seed_hash = code_hash(self.task.seed)
        known = store.get_meta("seed_hash")
        if known is None:
            with store.transaction():
                store.set_meta("task_root", str(self.task.root))
                store.set_meta("task_name", self.task.name)
                store.set_meta("task_format", self.task.format)
                store.set_meta("created_at", time.time())
                store.set_meta("cambrian_version", __version__)
                store.set_meta("elapsed_s", 0.0)
                store.set_meta("seed_hash", seed_hash)
        elif known != seed_hash:
            raise RunStoreError(
                f"run directory {str(self.run_dir)!r} belongs to another task"
                f" ({store.get_meta('task_root')!r}); use a new --run-dir"
            )
        # The evaluator's environment may hold secrets: it is not written to the run
        # database (a resume reads it again from the task's own settings).
        store.set_meta(
            "config", self.config.model_dump(mode="json", exclude={"evaluator": {"env"}})
        )
        store.set_meta("isolation", describe_isolation())
        remove_tree(self.run_dir / "work")
        memory_problem = self._open_memory_hooks()
        self._requeued, self._poisoned = store.recover(self.config.max_attempts)

        for program in store.finished_programs():
            self._count_failure(program.failure)
            if program.failure not in PROPOSAL_FAILURES:
                self.archive.add(program)
                self._novelty.remember(program.id, program.files)
        for row in store.rows():
            if row["parent_id"] is not None and row["parent_id"] in self.archive:
                self.archive.record_child(row["parent_id"])
        if self._memory is not None:
            self._memory.settle_unfinished()
        if store.count() == 0:
            first = new_run_candidates(self.task.seed, self._memory, self.config.archive.islands)
            with store.transaction():
                for cand, seen in first:
                    store.add_candidate(cand, seen=seen)
        if self._ensemble is not None:
            state = store.get_meta("ensemble_state")
            if state is not None:  # resume the bandit exactly where it was
                self._ensemble.load_state(state)
        self._samples = store.samples()
        self._reserved = self._samples  # recorded samples + proposals in flight
        self._next_sample = store.next_sample()
        totals = store.totals()
        self._cost = float(totals["cost"])
        self._tokens = int(totals["prompt_tokens"] + totals["completion_tokens"])
        self._elapsed_before = float(store.get_meta("elapsed_s", 0.0))
        self._t0 = time.monotonic()
        self._in_flight: set[int] = set()
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        for pid in store.queued_ids():
            self._queue.put_nowait(pid)
            self._pending.add(pid)
            queued = store.program(pid)
            if queued is not None and queued["sample"] is None:
                self._initial.add(pid)
        resumed = f"resumed after {self._samples} samples" if self._samples else ""
        if self._requeued or self._poisoned:
            resumed += (
                f"; requeued {self._requeued}, poisoned {self._poisoned} interrupted evaluations"
            )
        if not self._samples and self._memory is not None:
            resumed = self._memory.describe_recalled()
        self._emit("started", message="; ".join(m for m in (memory_problem, resumed) if m))

    def _open_memory_hooks(self) -> str:
        """Open memory when enabled; returns why it stays off despite that, or ""."""
        if not self.config.memory.enabled:
            return ""
        try:
            self._memory = RunMemory(
                self.config,
                self.task,
                self.store,
                self.archive,
                self.model,
                proposes_with_model=any(info.needs_model for info, _ in self._operators),
                spend=self._spend,
            )
        except ConfigError as exc:
            if self.config.memory.path or os.environ.get("CAMBRIAN_MEMORY"):
                raise  # a memory file the user named: their error to fix
            # The default file is a convenience nobody asked for: run without it.
            return f"memory off: {exc} (name a writable file with --memory PATH)"
        return ""

    async def _spend(self, purpose: str, completion: Completion) -> None:
        usage = completion.usage
        await self._persist(
            f"recording {purpose} spend",
            lambda: self.store.add_spend(
                purpose,
                completion.model,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cost,
            ),
        )
        self._cost += usage.cost
        self._tokens += usage.prompt_tokens + usage.completion_tokens

    def _learn_from(self, pid: int) -> None:
        """After a result: credit memory, and distil once enough outcomes are in."""
        if self._memory is None:
            return
        self._maybe_learn(self._memory.after_result(pid))

    def _maybe_learn(self, coro: Coroutine[object, object, object] | None) -> None:
        """Start a memory model call, unless a stop or a budget now forbids it."""
        if coro is None:
            return
        if self._learning_allowed():
            self._start_learning(coro)
        else:
            coro.close()  # never started: nothing to await or to charge

    def _learning_allowed(self) -> bool:
        budget = self.config.budget
        return not (
            self._stopped.is_set()
            or (budget.max_cost is not None and self._cost >= budget.max_cost)
            or (budget.max_tokens is not None and self._tokens >= budget.max_tokens)
        )

    def _start_learning(self, coro: Coroutine[object, object, object]) -> None:
        task = asyncio.create_task(self._guard(coro))
        self._learning.add(task)
        task.add_done_callback(self._learning.discard)

    def _install_signals(self) -> None:
        if not self._handle_signals:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        if self._stopped.is_set():
            # A second Ctrl-C: stop waiting for cleanup; the database is consistent.
            raise KeyboardInterrupt
        self.request_stop(f"interrupted by {signal.Signals(sig).name}")

    def _remove_signals(self) -> None:
        if not self._handle_signals:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    # -- the loop ----------------------------------------------------------------
    async def _loop(self) -> None:
        workers = [
            asyncio.create_task(self._guard(self._evaluator()))
            for _ in range(self.config.concurrency.evaluations)
        ]
        proposers = [
            asyncio.create_task(self._guard(self._proposer()))
            for _ in range(self.config.concurrency.proposals)
        ]
        monitor = asyncio.create_task(self._guard(self._monitor()))
        drained = asyncio.create_task(self._drain(proposers))
        stopped = asyncio.create_task(self._stopped.wait())
        await asyncio.wait({drained, stopped}, return_when=asyncio.FIRST_COMPLETED)
        everything = [*workers, *proposers, monitor, drained, stopped, *self._learning]
        for t in everything:
            t.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
        if self._fatal is not None:
            raise self._fatal
        if self._stop_reason is None:
            self._stop_reason = "max_samples reached" if self._draining_done() else "finished"

    def _draining_done(self) -> bool:
        limit = self.config.budget.max_samples
        return limit is not None and self._samples >= limit

    async def _guard(self, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug or a framework error: stop the run, re-raise later
            self._fatal = exc
            self._stopped.set()

    async def _drain(self, proposers: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*proposers)
        await self._queue.join()
        # What the last results teach is part of the run: let the analyzer finish.
        while self._learning:
            await asyncio.gather(*list(self._learning))

    async def _monitor(self) -> None:
        budget = self.config.budget
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(0.1)
            if budget.max_wall_time_s is not None and self.elapsed >= budget.max_wall_time_s:
                self.request_stop("max_wall_time reached")
            if time.monotonic() - last_save > 2.0:
                self._save_elapsed()
                last_save = time.monotonic()
            if (
                self.archive.best is None
                and not self._can_repair()
                and self._queue.empty()
                and not self._in_flight
                and len(self.archive) > 0
            ):
                seed = self.archive.get(1) if 1 in self.archive else None
                why = (
                    f"{seed.failure or 'incorrect'}: {seed.error or seed.feedback}" if seed else ""
                )
                self.request_stop(f"no correct program to evolve (the seed failed — {why[:500]})")

    @property
    def elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._t0

    def _save_elapsed(self) -> None:
        # Informational only: a busy or full database must not stop the run for it.
        with contextlib.suppress(sqlite3.Error, OSError):
            self.store.set_meta("elapsed_s", self.elapsed)

    async def _persist(self, what: str, write: Callable[[], T]) -> T:
        """Run a store write; pause and retry while the database is busy or the disk full.

        Writes are single transactions, so a failed attempt left nothing behind and
        retrying is safe. The run stays paused (and says so) until the write succeeds
        or the user stops it; it never records half a result or drops one.
        """
        delay = 0.25
        while True:
            try:
                return write()
            except (sqlite3.OperationalError, OSError) as exc:
                if not is_transient(exc):
                    raise
                self._emit("paused", message=f"{what}: {exc}; retrying in {delay:.2g}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _disk_full(self) -> bool:
        usage = shutil.disk_usage(self.run_dir)
        return usage.free < min(16 * 2**20, usage.total // 20)

    async def _wait_for_space(self, what: str) -> None:
        delay = 0.25
        while True:
            self._emit("paused", message=f"{what}: the disk is full; waiting for free space")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            if not self._disk_full():
                return

    # -- proposing ---------------------------------------------------------------
    def _can_repair(self) -> bool:
        return any(info.repairs for info, _ in self._operators)

    def _budget_allows_proposal(self) -> bool:
        budget = self.config.budget
        if self._draining or self._stopped.is_set():
            return False
        if budget.max_samples is not None and self._reserved >= budget.max_samples:
            return False
        if budget.max_cost is not None and self._cost >= budget.max_cost:
            self.request_stop("max_cost reached", drain=True)
            return False
        if budget.max_tokens is not None and self._tokens >= budget.max_tokens:
            self.request_stop("max_tokens reached", drain=True)
            return False
        return True

    async def _proposer(self) -> None:
        evaluations = self.config.concurrency.evaluations
        while self._budget_allows_proposal():
            # Backpressure: don't run ahead of the evaluators, and wait for a parent.
            # Recalled programs are evaluated before the first proposal picks a parent.
            if (
                self._queue.qsize() >= evaluations
                or (self.archive.best is None and not self._has_failed_parent())
                or not self._initial.isdisjoint(self._pending)
            ):
                await asyncio.sleep(0.02)
                continue
            sample = self._next_sample
            self._next_sample += 1
            self._reserved += 1
            recorded = False
            try:
                recorded = await self._propose(sample)
            finally:
                if not recorded:
                    self._reserved -= 1

    def _has_failed_parent(self) -> bool:
        return self._can_repair() and self.archive.stats().get("failed", 0) > 0

    def _choose_operator(self, rng: random.Random) -> OperatorInfo:
        infos = [info for info, _ in self._operators]
        weights = [w for _, w in self._operators]
        info = rng.choices(infos, weights)[0]
        if not info.repairs and self.archive.best is None:
            repairing = [i for i in infos if i.repairs]
            info = repairing[0] if repairing else info
        return info

    async def _propose(self, sample: int) -> bool:
        """Propose one candidate; returns whether a sample was recorded."""
        rng = random.Random(f"{self.config.seed}:{sample}")
        info = self._choose_operator(rng)
        island = sample % self.config.archive.islands
        parent = self.archive.select_parent(rng, island, for_fix=info.repairs)
        if parent is None and info.repairs:
            fallback = [i for i, _ in self._operators if not i.repairs]
            if fallback and self.archive.best is not None:
                info = fallback[0]
                parent = self.archive.select_parent(rng, island)
        if parent is None:
            return False
        inspirations = self.archive.inspirations(rng, parent) if info.needs_model else []
        self.archive.record_child(parent.id)
        advice = Advice()
        if self._memory is not None and info.needs_model:
            advice = await self._memory.advise(parent, sample)
            self._maybe_learn(self._memory.mutation(sample))
        ctx = ProposalContext(
            task=self.task,
            parent=parent,
            inspirations=inspirations,
            rng=rng,
            model=self.model,
            settings=self.config.propose,
            is_duplicate=self._novelty_check(parent.island)
            if info.needs_model
            else self._is_duplicate,
            advice=advice.text,
            preamble=advice.preamble,
        )
        started = time.monotonic()
        try:
            proposal = await info.fn(ctx)
        except ModelUnavailableError as exc:
            # The provider is down: nothing was recorded, so the sample is not spent.
            wait = exc.retry_after or self._model_backoff
            self._model_backoff = min(self._model_backoff * 2, 60.0)
            self._emit("paused", message=f"model unavailable ({exc}); retrying in {wait:.0f}s")
            await asyncio.sleep(wait)
            return False
        except ModelError as exc:
            # Only the user can fix this (key, quota, model name): stop cleanly; queued
            # evaluations finish and `cambrian resume` continues once it is fixed.
            self.request_stop(f"model error: {exc}", drain=True)
            return False
        self._model_backoff = 1.0
        cand = NewCandidate(
            files=proposal.files,
            operator=proposal.operator,
            parent_id=parent.id,
            island=parent.island,
            generation=parent.generation + 1,
            sample=sample,
            model=proposal.model,
            inspiration_ids=tuple(p.id for p in inspirations),
            edit_format=proposal.edit_format,
            fuzz=proposal.fuzz,
            change=proposal.change,
            reply=proposal.reply,
            propose_time=time.monotonic() - started,
            prompt_tokens=proposal.usage.prompt_tokens,
            completion_tokens=proposal.usage.completion_tokens,
            cost=proposal.usage.cost,
            advice=(advice.text, advice.preamble) if advice.text or advice.preamble else None,
        )
        self._samples += 1
        self._cost += proposal.usage.cost
        self._tokens += proposal.usage.prompt_tokens + proposal.usage.completion_tokens
        if proposal.failure is not None:
            self._reward(proposal.model, 0.0, proposal.usage.cost)
            failure, error = proposal.failure, proposal.error
            pid = await self._persist(
                "recording a proposal",
                lambda: self.store.add_failed(cand, failure, error, seen=advice.record_ids),
            )
            self._count_failure(proposal.failure)
            self._emit("proposal_failed", program_id=pid, message=proposal.error[:200])
            self._learn_from(pid)
            return True
        pid = await self._persist(
            "recording a proposal",
            lambda: self.store.add_candidate(cand, seen=advice.record_ids),
        )
        self._novelty.remember(pid, cand.files)
        self._pending.add(pid)
        self._queue.put_nowait(pid)
        self._emit("proposed", program_id=pid, message=proposal.change)
        return True

    def _is_duplicate(self, files: Files) -> str | None:
        if self.store.has_hash(code_hash(files)):
            return "this exact program already exists in the run"
        return None

    def _novelty_check(self, island: int) -> Callable[[Files], str | None]:
        """Exact duplicates anywhere, near-duplicates of the island or of pending work."""
        if self.config.propose.novelty_threshold is None:
            return self._is_duplicate

        def check(files: Files) -> str | None:
            against = [p.id for p in self.archive.members(island)] + sorted(self._pending)
            return self._is_duplicate(files) or self._novelty.judge(files, against)

        return check

    # -- evaluating --------------------------------------------------------------
    async def _evaluator(self) -> None:
        while True:
            pid = await self._queue.get()
            try:
                # After a stop, queued work waits for the next session: starting it now
                # would only race the cancellation that is on its way.
                if not self._stopped.is_set():
                    await self._evaluate(pid)
            finally:
                self._queue.task_done()

    async def _evaluate(self, pid: int) -> None:
        limits = self.config.evaluator.limits
        await self._persist(
            "starting an evaluation",
            lambda: self.store.start(pid, lease_s=limits.timeout_s * 2 + 60),
        )
        self._in_flight.add(pid)
        row = self.store.program(pid)
        assert row is not None
        files = json.loads(row["files"])
        work_dir = self.run_dir / "work" / str(pid)
        try:
            for attempt in range(self.config.max_attempts + 1):
                try:
                    result: EvalResult | None = await evaluate_program(
                        self.task, files, work_dir=work_dir, config=self.config.evaluator
                    )
                except OSError as exc:  # preparing the work dir on the host failed
                    if not is_transient(exc) or attempt == self.config.max_attempts:
                        raise
                    result = None
                finally:
                    remove_tree(work_dir)
                # A full host disk fails evaluations through no fault of the candidate
                # (the worker cannot even write its result): wait for space and evaluate
                # again. Bounded, so a candidate that fills the disk itself cannot loop.
                if result is not None and (result.ok or not self._disk_full()):
                    break
                if attempt == self.config.max_attempts:
                    break
                await self._wait_for_space(f"evaluating program {pid}")
        except asyncio.CancelledError:
            # Best effort: if the database refuses now, the row stays `running` and the
            # next session's recovery requeues it.
            with contextlib.suppress(sqlite3.Error):
                self.store.requeue(pid)
            raise
        finally:
            self._in_flight.discard(pid)
        assert result is not None
        previous = self.archive.best
        await self._persist("recording a result", lambda: self.store.finish(pid, result))
        finished = self.store.program(pid)
        assert finished is not None
        program = row_to_program(finished)
        self.archive.add(program)
        self._pending.discard(pid)
        self._reward_child(program, finished["model"], finished["cost"])
        self._learn_from(pid)
        self._novelty.remember(pid, program.files)
        self._count_failure(program.failure)
        best = self.archive.best
        self._emit("evaluated", program_id=pid, score=program.score, message=program.failure or "")
        if best is not None and (previous is None or best.id != previous.id):
            self._emit("improved", program_id=best.id, score=best.score)
            target = self.config.budget.target_score
            if target is not None and best.score is not None and best.score >= target:
                self.request_stop(f"target_score {target} reached")

    # -- ensemble rewards ---------------------------------------------------------
    def _reward_child(self, child: Program, model: str | None, cost: float) -> None:
        """Reward the model that proposed ``child`` with its relative improvement."""
        parent = None
        if child.parent_id is not None and child.parent_id in self.archive:
            parent = self.archive.get(child.parent_id)
        reward = 0.0
        if child.correct and parent is not None and parent.score is not None:
            gain = (child.score or 0.0) - parent.score
            reward = min(1.0, max(0.0, gain / max(abs(parent.score), 1e-9)))
        self._reward(model, reward, cost)

    def _reward(self, model: str | None, reward: float, cost: float) -> None:
        if self._ensemble is None or model is None:
            return
        try:
            self._ensemble.update(model, reward, cost)
        except ValueError:  # a model the ensemble does not know (e.g. after a config change)
            return
        # Persisted with every reward, so a resumed run continues the same bandit.
        with contextlib.suppress(sqlite3.Error, OSError):
            self.store.set_meta("ensemble_state", self._ensemble.state())

    # -- reporting ---------------------------------------------------------------
    def _count_failure(self, failure: str | None) -> None:
        if failure:
            self.failures[failure] = self.failures.get(failure, 0) + 1

    def _emit(
        self,
        kind: EventKind,
        *,
        program_id: int | None = None,
        score: float | None = None,
        message: str = "",
    ) -> None:
        if self._on_event is None:
            return
        best = self.archive.best
        self._on_event(
            Event(
                kind,
                program_id=program_id,
                score=score,
                best_score=best.score if best else None,
                samples=self._samples,
                evaluated=len(self.archive),
                message=message,
            )
        )

    def _summary(self) -> RunSummary:
        best = self.archive.best
        seed = self.archive.get(1) if 1 in self.archive else None
        return RunSummary(
            run_dir=self.run_dir,
            stop_reason=self._stop_reason or "finished",
            best_id=best.id if best else None,
            best_score=best.score if best else None,
            seed_score=seed.score if seed else None,
            samples=self._samples,
            evaluated=len(self.archive),
            failures=dict(self.failures),
            elapsed_s=self.elapsed,
            cost=self._cost,
            learned=self._learned(),
        )

    def _learned(self) -> dict[str, int]:
        return self._memory.stats if self._memory is not None else {}
