"""Progress display for ``cambrian run``: a live bar on a terminal, plain lines otherwise."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..engine import Event, RunSummary


class RunDisplay:
    """Renders engine events. Use as a context manager around the run."""

    def __init__(self, console: Console, max_samples: int | None) -> None:
        self.console = console
        self._live = console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]samples"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best [bold green]{task.fields[best]}"),
            TextColumn("evaluated {task.fields[evaluated]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("run", total=max_samples, best="-", evaluated=0)

    def __enter__(self) -> RunDisplay:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live:
            self._progress.stop()

    def __call__(self, event: Event) -> None:
        best = "-" if event.best_score is None else f"{event.best_score:.6g}"
        self._progress.update(
            self._task, completed=event.samples, best=best, evaluated=event.evaluated
        )
        if event.kind == "improved":
            self.console.print(
                f"[green]new best[/] {event.score:.6g}  (program {event.program_id},"
                f" after {event.samples} samples)"
            )
        elif event.kind == "paused":
            self.console.print(f"[red]paused:[/] {event.message}")
        elif event.kind == "stopping":
            self.console.print(f"[yellow]stopping:[/] {event.message}")
        elif event.kind == "started" and event.message:
            self.console.print(f"[dim]{event.message}[/]")


def print_summary(console: Console, summary: RunSummary) -> None:
    seed = "-" if summary.seed_score is None else f"{summary.seed_score:.6g}"
    best = "-" if summary.best_score is None else f"{summary.best_score:.6g}"
    console.print(f"[bold]stopped:[/] {summary.stop_reason}")
    console.print(
        f"samples {summary.samples}, evaluated {summary.evaluated},"
        f" {summary.elapsed_s:.1f}s, cost ${summary.cost:.4f}"
    )
    console.print(
        f"seed score {seed} → best score [bold green]{best}[/] (program {summary.best_id})"
    )
    if summary.failures:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.failures.items()))
        console.print(f"failures: {kinds}")
    if summary.learned:
        learned = ", ".join(f"{k} {v}" for k, v in summary.learned.items() if v)
        console.print(f"memory: {learned or 'nothing new'}   (cambrian memory list)")
    console.print(f"run dir: {summary.run_dir}   (cambrian best {summary.run_dir})")
