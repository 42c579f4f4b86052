"""``keldysh-validate``: run, list and show the comparisons.

::

    keldysh-validate run [--suite default|quick] [--only NAME ...] [--out reports/] [--replace]
                         [--workers N | --dask local|tcp://HOST:PORT [--dask-timeout S]]
                         [--cache DIR | --no-cache] [--force]
                         [--sweep-variable flux|hbar|E] [--quiet]
    keldysh-validate list
    keldysh-validate show NAME
    keldysh-validate report DIR
    keldysh-validate diff OLD NEW
    keldysh-validate readme [DIR | --keep-snapshot | --check]

``report`` redraws every figure and page of a finished run from its CSV files
and run.json (no physics computed); ``diff`` lists what changed between two
runs and exits with status 1 if a verdict got worse (:mod:`validation.diff`);
``readme`` copies a run (default ``reports/``) into ``docs/results/`` and
regenerates the README's results section from it (``--keep-snapshot``: from the
snapshot as it is; ``--check``: only say whether the README is current;
:mod:`validation.readme`).

``--only`` takes exact names or shell patterns (``'spin_density*'``), and may
be repeated. Without a subcommand the help is printed.

Every finished (field, model) task is written to the results cache
(default ``<out>/cache``, :mod:`validation.cache`) as soon as it completes. A
run that is interrupted (Ctrl-C, a killed job, a lost node) is resumed by
running the same command again: cached points are read back and only the
missing ones are computed. ``--force`` recomputes every point (and overwrites
the cache); ``--no-cache`` neither reads nor writes it.

Faults do not stop a run: a comparison that raises (at some points or all), and
a plugin that fails to load, get a report row with the verdict ``error`` naming
the exception and the field point, the other comparisons complete, and the exit
status is 1. A cached row that fails its integrity check is reported and
recomputed (:mod:`validation.cache`).

A report is never shrunk by accident: if ``--out`` holds a report listing
comparisons that this run would not write (a narrower ``--only``, another
suite), the run stops before computing anything and says so; ``--replace``
overwrites it anyway. ``--sweep-variable flux`` (or ``E``) skips, with a
message, the comparisons whose sweeps are of the other field; ``hbar`` applies
to every sweep.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path

from .cache import CacheIntegrityWarning, ResultsCache
from .comparison import Comparison
from .convergence import ERROR, ConvergenceResult, failed_result, run
from .executor import make_executor
from .registry import SUITES, PluginLoadWarning, available, get, plugin_failures, plugins, suite_jobs
from .report import write_reports
from .report_guard import ReportShrinkError, check_replaces
from .sweep import SWEEP_VARIABLES

__all__ = ["main", "select"]


def select(patterns: Sequence[str] | None) -> list[Comparison]:
    """Registered comparisons matching any of ``patterns`` (exact name first, then shell pattern).

    Raises
    ------
    SystemExit
        If a pattern matches nothing.
    """
    names = available()
    if not patterns:
        return [get(n) for n in names]
    chosen: list[str] = []
    for pattern in patterns:
        hits = [pattern] if pattern in names else [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise SystemExit(f"keldysh-validate: no comparison matches {pattern!r}; see `keldysh-validate list`")
        chosen += [h for h in hits if h not in chosen]
    return [get(n) for n in chosen]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[tuple[Executor, str]]:
    """The run's executor and a description of it (process pool, in-process, or Dask cluster)."""
    if args.dask:
        from .cluster import SchedulerUnreachable, dask_executor, require_distributed

        try:
            require_distributed()
        except ImportError as exc:
            raise SystemExit(f"keldysh-validate: {exc}") from None
        with contextlib.ExitStack() as stack:
            try:
                executor = stack.enter_context(dask_executor(args.dask, args.workers, timeout=args.dask_timeout))
            except (ValueError, SchedulerUnreachable) as exc:
                raise SystemExit(f"keldysh-validate: --dask {args.dask}: {exc}") from None
            yield executor, "a local Dask cluster" if args.dask == "local" else f"the Dask cluster at {args.dask}"
        return
    workers = args.workers or os.cpu_count() or 1
    try:
        executor = make_executor(workers)
    except RuntimeError as exc:  # e.g. started from a script without a main guard
        raise SystemExit(f"keldysh-validate: {exc}") from None
    try:
        yield executor, f"{workers} local worker process(es)" if workers > 1 else "1 process (in-process)"
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Cache-integrity and plugin warnings as one line each on stderr; others as Python shows them."""
    if issubclass(category, (CacheIntegrityWarning, PluginLoadWarning)):
        print(f"keldysh-validate: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _plan(args: argparse.Namespace, comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons the run will evaluate: those the suite keeps and the sweep variable applies to.

    Raises
    ------
    SystemExit
        If nothing is left, saying why.
    """
    try:
        kept = [c for c, _ in suite_jobs(args.suite, comparisons)]
    except ValueError as exc:
        raise SystemExit(f"keldysh-validate: {exc}") from None
    if not kept:
        names = ", ".join(c.name for c in comparisons[:6]) + (", ..." if len(comparisons) > 6 else "")
        raise SystemExit(
            f"keldysh-validate: the {args.suite} suite ({SUITES[args.suite]}) keeps none of the "
            f"{_count(len(comparisons), 'selected comparison')} ({names}); nothing was run and {args.out}/ is "
            "unchanged. Use --suite default"
        )
    if args.sweep_variable is None:
        return kept
    fits = [c for c in kept if c.sweep.can_express(args.sweep_variable)]
    skipped = [c for c in kept if not c.sweep.can_express(args.sweep_variable)]
    if skipped:
        kind = "electric" if args.sweep_variable == "flux" else "magnetic"
        print(
            f"keldysh-validate: --sweep-variable {args.sweep_variable} does not apply to the {kind}-field sweeps of "
            f"{_count(len(skipped), 'comparison')}, which are skipped: {', '.join(c.name for c in skipped)} "
            "(--sweep-variable hbar applies to every sweep)",
            file=sys.stderr,
        )
    if not fits:
        raise SystemExit(
            f"keldysh-validate: --sweep-variable {args.sweep_variable} applies to none of the selected comparisons; "
            "nothing was run"
        )
    return fits


def _plugin_rows(args: argparse.Namespace) -> list[ConvergenceResult]:
    """Error rows for plugins that failed to load (a run of everything only; with --only, a warning line)."""
    failures = plugin_failures()
    if args.only:
        for f in failures:
            print(f"keldysh-validate: warning: {f.label} failed to load, so its comparisons are not in this run: "
                  f"{f.error.error}: {f.error.message}", file=sys.stderr)
        return []
    return [
        failed_result(
            f.label,
            f"The entry point {f.entry_point} = {f.value!r} (distribution {f.distribution or 'unknown'} "
            f"{f.version or ''}) failed to load, so none of its comparisons ran.",
            f.error,
        )
        for f in failures
    ]


def _guard(out: Path, names: list[str], replace: bool) -> None:
    """SystemExit if writing a report of ``names`` into ``out`` would drop comparisons of the one there."""
    try:
        check_replaces(out, names, replace=replace)
    except ReportShrinkError as exc:
        raise SystemExit(f"keldysh-validate: {exc}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"keldysh-validate: --out {out} is a file, not a directory")
    with warnings.catch_warnings():
        warnings.showwarning = _print_warning
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    plugin_rows = _plugin_rows(args)
    comparisons = _plan(args, select(args.only))
    names = [c.name for c in comparisons] + [r.name for r in plugin_rows]
    _guard(out, names, args.replace)
    try:
        cache = None if args.no_cache else ResultsCache(args.cache or out / "cache", force=args.force)
    except OSError as exc:
        raise SystemExit(f"keldysh-validate: --cache: {exc}") from None
    t0 = time.perf_counter()
    with _executor(args) as (executor, where):
        try:
            results = run(
                comparisons, suite=args.suite, variable=args.sweep_variable, executor=executor,
                progress=not args.quiet, cache=cache,
            )
        except KeyboardInterrupt:
            if cache is not None:
                print(f"\ninterrupted: {cache.stored} finished point(s) are kept in {cache.directory}/; "
                      "run the same command again to resume", file=sys.stderr)
            raise
        results += plugin_rows
        evaluation = time.perf_counter() - t0
        run_info = {
            "suite": f"{args.suite} ({SUITES[args.suite]})",
            "executed_on": where,
            "evaluation_seconds": round(evaluation, 2),
            "results_cache": "not used" if cache is None else (
                f"{cache.directory} ({cache.reused} point(s) read back, {cache.stored} computed"
                + (", --force" if args.force else "")
                + (f", {cache.rejected} row(s) failed the integrity check and were recomputed" if cache.rejected
                   else "")
                + ")"
            ),
            "plugins": plugins(),
        }
        local_files = args.dask in (None, "local")  # figures drawn by workers must land on this filesystem
        context = [f"Suite `{args.suite}` ({SUITES[args.suite]}), {_count(len(results), 'comparison')}."]
        try:  # checked again: another run may have written a report there meanwhile
            write_reports(results, out, context=context, executor=executor if local_files else None,
                          run_info=run_info, replace=args.replace)
        except ReportShrinkError as exc:
            raise SystemExit(f"keldysh-validate: {exc}") from None
    elapsed = time.perf_counter() - t0
    width = max(len(r.name) for r in results)
    for r in results:
        lo, hi = r.order_ci
        order = f"{r.fitted_order:6.3f} [{lo:6.3f}, {hi:6.3f}]" if r.fit else f"{'--':>6} {'(not fitted)':>16}"
        verdict = r.verdict
        if r.onset is not None:
            verdict += f" from {r.sweep.variable} = {r.onset:.4g}"
        if r.errors:
            verdict += f": {r.errors[0].describe()}" + (f" (+{len(r.errors) - 1} more)" if len(r.errors) > 1 else "")
        print(f"{r.name:<{width}}  {order}  {verdict}")
    reused = f"; {cache.reused} point(s) from the cache" if cache is not None and cache.reused else ""
    print(f"{_count(len(results), 'comparison')} in {elapsed:.1f} s on {where}{reused}; reports in {out}/ (index.html)")
    if cache is not None and cache.rejected:
        were = "was" if cache.rejected == 1 else "were"
        print(f"{_count(cache.rejected, 'cached row')} failed the integrity check (warnings above) and {were} "
              "recomputed", file=sys.stderr)
    errors = [r for r in results if r.verdict == ERROR]
    if errors:
        print(f"keldysh-validate: {_count(len(errors), 'comparison')} raised (verdict 'error'): "
              f"{', '.join(r.name for r in errors)}; see their sections in {out}/index.md", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    comparisons = [get(n) for n in available()]
    rows = [(c.name, c.equation, c.prediction_kind, c.model_label) for c in comparisons]
    widths = [max(len(r[i]) for r in rows + [("name", "equation", "prediction", "model")]) for i in range(3)]
    print(f"{'name':<{widths[0]}}  {'equation':<{widths[1]}}  {'prediction':<{widths[2]}}  model")
    for name, eq, kind, model in rows:
        print(f"{name:<{widths[0]}}  {eq:<{widths[1]}}  {kind:<{widths[2]}}  {model}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    try:
        c = get(args.name)
    except KeyError as exc:
        raise SystemExit(f"keldysh-validate: {exc.args[0]}") from None
    lines = [
        c.name,
        "",
        c.description,
        "",
        f"equation:        {c.equation} ({c.prediction_kind})",
        f"model:           {c.model_label}",
        f"where:           {c.points}",
        f"expected order:  {c.expected_order:g} (in the sweep variable)",
        f"sweep:           {c.sweep.describe()}",
        f"exact tolerance: {c.exact_tol:.1e}",
        f"quadrature floor estimate: {'coarse-grid prediction' if c.prediction_coarse else 'none (pointwise in k)'}",
        f"units:           {c.units}",
    ]
    if c.counterpart:
        lines.append(f"counterpart:     {c.counterpart}")
    if c.difference:
        lines.append(f"difference:      {c.difference}")
    print("\n".join(lines))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import render_reports

    try:
        paths = render_reports(args.dir)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"keldysh-validate report: {exc}") from None
    print(f"{_count(len(paths.plots), 'comparison')}: figures and pages redrawn in {paths.html.parent}/ (index.html)")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from .diff import read_and_diff

    try:
        changes, text = read_and_diff(args.old, args.new)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"keldysh-validate diff: {exc}") from None
    print(text)
    return 1 if any(c.kind == "worse" for c in changes) else 0


def _cmd_readme(args: argparse.Namespace) -> int:
    from .readme import README, SNAPSHOT, readme_section, results_section, update_readme

    readme = Path(args.readme) if args.readme else README
    snapshot = Path(args.snapshot) if args.snapshot else SNAPSHOT
    run_dir = None if args.check or args.keep_snapshot else Path(args.dir or "reports")
    if args.dir and run_dir is None:
        raise SystemExit("keldysh-validate readme: a run directory cannot be combined with --check or --keep-snapshot")
    try:
        if args.check:
            if readme_section(readme) != results_section(snapshot, readme):
                print(f"{readme}: the results section differs from what {snapshot}/ gives; "
                      "run `keldysh-validate readme` (without --check) to regenerate it", file=sys.stderr)
                return 1
            print(f"{readme}: the results section is what {snapshot}/ gives")
            return 0
        changed = update_readme(run_dir, readme, snapshot)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"keldysh-validate readme: {exc}") from None
    source = f"{run_dir}/ copied to {snapshot}/; " if run_dir else ""
    print(f"{source}{readme}: results section {'regenerated' if changed else 'already current'}")
    return 0


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    """The subcommands that read finished runs: report, diff, readme."""
    p_report = sub.add_parser("report", help="redraw the figures and pages of a finished run from its files")
    p_report.add_argument("dir", help="report directory (holding summary.csv, run.json and the point CSVs)")
    p_report.set_defaults(func=_cmd_report)
    p_diff = sub.add_parser(
        "diff", help="verdicts and orders that changed between two runs (exit status 1 if a verdict got worse)"
    )
    p_diff.add_argument("old", help="the earlier run: report directory or its summary.csv")
    p_diff.add_argument("new", help="the later run: report directory or its summary.csv")
    p_diff.set_defaults(func=_cmd_diff)
    p_readme = sub.add_parser(
        "readme", help="copy a finished run into docs/results/ and regenerate the README's results section from it"
    )
    p_readme.add_argument("dir", nargs="?", default=None, help="the finished run (default: reports/)")
    p_readme.add_argument("--keep-snapshot", action="store_true",
                          help="regenerate the README section from the snapshot as it is (no run copied)")
    p_readme.add_argument("--check", action="store_true",
                          help="change nothing; exit status 1 if the README section is not what the snapshot gives")
    p_readme.add_argument("--readme", default=None, help="README file (default: this repository's README.md)")
    p_readme.add_argument("--snapshot", default=None, help="snapshot directory (default: docs/results/)")
    p_readme.set_defaults(func=_cmd_readme)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keldysh-validate",
        description="Hold the O(hbar) semiclassical predictions against the exact lattice solver: "
        "fitted convergence orders and verdicts.",
    )
    sub = parser.add_subparsers(dest="command")
    p_run = sub.add_parser("run", help="run a suite and write reports")
    p_run.add_argument("--suite", choices=sorted(SUITES), default="default", help="which suite (default: default)")
    p_run.add_argument("--only", action="append", metavar="NAME", help="comparison name or shell pattern (repeatable)")
    p_run.add_argument("--out", default="reports", help="output directory (default: reports/)")
    p_run.add_argument("--replace", action="store_true",
                       help="overwrite a report in OUT even if it lists comparisons this run does not")
    p_run.add_argument("--workers", type=int, default=None,
                       help="worker processes (default: all cores; 1 = in-process); "
                            "with --dask local, the cluster size")
    p_run.add_argument("--dask", metavar="ADDRESS", default=None,
                       help="run on a Dask cluster: 'local' (a LocalCluster here) or tcp://HOST:PORT "
                            "(needs the extra: pip install -e '.[dask]')")
    p_run.add_argument("--dask-timeout", metavar="SECONDS", type=float, default=None,
                       help="with --dask ADDRESS: seconds to wait for the scheduler to answer (default: 10)")
    p_run.add_argument("--cache", metavar="DIR", default=None,
                       help="results cache directory (default: OUT/cache); finished points are kept and reused")
    p_run.add_argument("--no-cache", action="store_true", help="neither read nor write the results cache")
    p_run.add_argument("--force", action="store_true", help="recompute every point (overwrite the cache)")
    p_run.add_argument(
        "--sweep-variable", choices=SWEEP_VARIABLES, default=None,
        help="report every sweep in this variable (hbar, or its own lattice variable flux / E)"
    )
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.set_defaults(func=_cmd_run)
    p_list = sub.add_parser("list", help="list the comparisons")
    p_list.set_defaults(func=_cmd_list)
    p_show = sub.add_parser("show", help="describe one comparison")
    p_show.add_argument("name")
    p_show.set_defaults(func=_cmd_show)
    _add_report_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``keldysh-validate``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "run":
        if args.workers is not None and args.workers < 1:
            parser.error(f"--workers must be >= 1, got {args.workers}")
        if args.no_cache and (args.force or args.cache):
            parser.error("--no-cache cannot be combined with --cache or --force")
        if args.dask_timeout is not None and not (args.dask and args.dask != "local"):
            parser.error("--dask-timeout applies to --dask ADDRESS (a remote scheduler) only")
        if args.dask_timeout is not None and not 0 < args.dask_timeout < float("inf"):
            parser.error(f"--dask-timeout must be a positive number of seconds, got {args.dask_timeout}")
        if args.dask_timeout is None:
            from .cluster import DEFAULT_CONNECT_TIMEOUT

            args.dask_timeout = DEFAULT_CONNECT_TIMEOUT
        if args.only is not None:
            empty = [p for p in args.only if not p.strip()]
            if empty:
                parser.error("--only needs a comparison name or a shell pattern, got an empty string")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
