"""``keldysh-validate``: run, list and show the comparisons.

::

    keldysh-validate run [--suite default|quick] [--only NAME ...] [--out reports/]
                         [--workers N] [--sweep-variable flux|hbar]
    keldysh-validate list
    keldysh-validate show NAME

``--only`` takes exact names or shell patterns (``'spin_density*'``), and may
be repeated. Without a subcommand the help is printed.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import time
from collections.abc import Sequence

from .comparison import SUITES, Comparison, available, get
from .convergence import run
from .report import write_reports
from .sweep import SWEEP_VARIABLES, make_executor

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


def _cmd_run(args: argparse.Namespace) -> int:
    comparisons = select(args.only)
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    executor = make_executor(workers)
    try:
        results = run(
            comparisons, suite=args.suite, variable=args.sweep_variable, executor=executor, progress=not args.quiet
        )
        elapsed = time.perf_counter() - t0
        context = [
            f"Suite `{args.suite}` ({SUITES[args.suite]}), {len(results)} comparisons, {workers} worker(s), "
            f"evaluation {elapsed:.1f} s."
        ]
        paths = write_reports(results, args.out, context=context, executor=executor)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    elapsed = time.perf_counter() - t0
    width = max(len(r.name) for r in results)
    for r in results:
        lo, hi = r.order_ci
        order = f"{r.fitted_order:6.3f} [{lo:6.3f}, {hi:6.3f}]" if r.fit else f"{'--':>6} {'(not fitted)':>16}"
        print(f"{r.name:<{width}}  {order}  {r.verdict}")
    print(f"{len(results)} comparisons in {elapsed:.1f} s; reports in {paths.summary.parent}/ (index.html)")
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
    p_run.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores; 1 = in-process)")
    p_run.add_argument(
        "--sweep-variable", choices=SWEEP_VARIABLES, default=None, help="report the sweep in flux or hbar"
    )
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.set_defaults(func=_cmd_run)
    p_list = sub.add_parser("list", help="list the comparisons")
    p_list.set_defaults(func=_cmd_list)
    p_show = sub.add_parser("show", help="describe one comparison")
    p_show.add_argument("name")
    p_show.set_defaults(func=_cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``keldysh-validate``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error("--workers must be >= 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
