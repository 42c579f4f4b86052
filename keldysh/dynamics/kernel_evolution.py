"""Algorithm (b): evolution of the dressed home-cell kernel in a uniform B and E, any flux.

The state is the gauge-invariant kernel X[R, a, b] = rho~(R + tau_a, tau_b; t)
of the density matrix on the home-cell columns (B and E Wilson lines, so that
W(p, t) = sum_R exp(-i p.s) X[R] at kinetic momentum p), on a box of cells
|R|_inf <= S that grows with the kernel. It obeys the von Neumann equation of
:mod:`keldysh.dynamics.liouvillian` (twisted commutator with H_B, plus the
diagonal E term -(F(t).s) X, F(t) = q E s(t/tau) the ramped force)::

    i dX/dt = L(t) X = H_B * X - X * H_B - f(t) (F.s) X.

Time stepping
-------------
Where f is constant (after the ramp, or at once for ``ramp = 0``) L is constant
and exp(-i h L) is applied exactly by its Chebyshev-Bessel series
(:func:`keldysh.dynamics.liouvillian.chebyshev_exponential`); each step takes
the phase x = (spectral half-width) h among 15, 30, 60, 120 that minimizes the
products per unit time (Bessel order / h) times the box area it needs (longer
steps need a wider margin).
During the ramp a sixth-order commutator-free Magnus step (CF6:5 of Alvermann
and Fehske 2011, :func:`_cf6_table`) applies five exponentials
exp(-i h (g_i L_B - phi_i f-weighted F.s)), g_i and phi_i the node weights
(sum_i g_i = 1), each an exact Chebyshev exponential of the same sparse
generator with a scaled diagonal: no commutator is formed, and when f is
constant the product is exp(-i h L) exactly. The step is controlled by step
doubling (Richardson, 2^6 - 1), against an error allowance spread over the
ramp; differences at the rounding floor (~100 eps ||X||_1) do not shrink it.

Box and leakage
---------------
Before every step the box is grown, if needed, so that the kernel's l1 mass
beyond S - margin is below the threshold (the leak budget still unspent over
c_edge LEAK_TIME, :meth:`KernelStepper._threshold`), margin = v h + 2 r + 2 cells
(r the hopping range; v 1.5 times the largest front speed measured over the
last steps, at most 2 max |grad eps| of the zero-field bands, which no part of
the kernel outruns). After the step the mass on the outer r shells enters the
leakage estimate (Duhamel, :mod:`keldysh.dynamics.liouvillian`)
c_edge h max(edge before, edge after); if it exceeds ten times the threshold the
box is grown and the step repeated. Entries below 100 SERIES_EPS ||X||_2 (the
dropped Bessel tails, counted in ``series``) and, with ``floor``, the wave of
the tail that the initial kernel dropped (counted with it) do not steer the box.

Error estimates (per output time, cumulative)
---------------------------------------------
Two norms are tracked for every term: ``l1`` = max over (a, b) of
sum_R |delta X[R, a, b]|, which bounds the error of every element of W(p) at
every p; ``l2`` = the Hilbert-Schmidt norm per cell of delta X, which bounds
the error of the current through |delta j| <= ||delta X||_2 ||V~||_2 / A_cell
(Cauchy-Schwarz; V = i[H, r]). Terms: ``series`` (dropped Bessel tails;
rigorous in l2, same number used for l1), ``ramp`` (Richardson estimate of
the Magnus steps), ``leak`` (the Duhamel edge estimate; l2 rigorous given the
in-step maximum of the edge mass, l1 an estimate). The initial kernel's own
error is added by the caller. The l2 norm of X is conserved by the exact and
the truncated evolution alike; its drift is reported as a check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..errors import ConvergenceError
from ..fields import UniformE
from .liouvillian import SERIES_EPS, Generator, bessel_coefficients, chebyshev_exponential, shell_of_box

__all__ = ["STEP_PHASE", "KernelSnapshot", "KernelStepper", "box_from_kernel", "kernel_current"]

#: Default (spectral half-width) x (step) of an exact Chebyshev step (65 Bessel terms at 1e-16), and the
#: candidates among which each step picks the cheapest for its box (:meth:`KernelStepper._exact_step`).
STEP_PHASE = 30.0
_PHASES = (15.0, 30.0, 60.0, 120.0)
#: Share of the l1 budget that the leak may use, and the time scale (1/energy) over which the box
#: lets the mass beyond its front leak before growing (a few crossings of the outer shells).
SHARE_LEAK, LEAK_TIME = 0.3, 10.0
#: Order of the commutator-free Magnus step of the ramp, and the Richardson factor of its step doubling.
_ORDER = 6
_RICHARDSON = 1.0 / (2**_ORDER - 1)


_ORDERS: dict[float, int] = {}


def _bessel_order(x: float) -> int:
    """Order of the Chebyshev-Bessel series of exp(-i x y) (cached)."""
    if x not in _ORDERS:
        _ORDERS[x] = len(bessel_coefficients(x)[0]) - 1
    return _ORDERS[x]


def _cf6_table() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes (3,) and weights (5, 3) of the sixth-order commutator-free Magnus step CF6:5.

    Alvermann and Fehske, J. Comput. Phys. 230, 5930 (2011) (arXiv:1102.5071), Eqs. 59-60: the
    exponentials exp(-i h sum_m G_im L(t + x_m h)), m over the three Gauss-Legendre nodes on [0, 1],
    G_im = w_m sum_n F_in (2n - 1) P_{n-1}(x_m) with the shifted Legendre P, the F of the paper's
    unoptimized CF6:5 and its time-symmetric completion; rows in the order of application.
    """
    f1 = [0.16, 0.14587456942714338561, 0.11762370828143015682]
    f2 = [0.38752405202531186588, 0.15089113704380764664, -0.12805075909013044594]
    f3 = [1 - 2 * f2[0] - 2 * f1[0], 0.0, -2 * f2[2] - 2 * f1[2]]
    F = np.array([f1, f2, f3, [f2[0], -f2[1], f2[2]], [f1[0], -f1[1], f1[2]]])  # leftmost (last applied) first
    x, w = np.polynomial.legendre.leggauss(3)
    y = 2 * ((x + 1) / 2) - 1
    P = np.array([np.ones(3), y, 0.5 * (3 * y**2 - 1)])
    G = 0.5 * w[None, :] * ((F * np.array([1.0, 3.0, 5.0])) @ P)
    return (x + 1) / 2, G[::-1].copy()


_CF6_NODES, _CF6_WEIGHTS = _cf6_table()
#: Rounding floor of a step-doubling difference, in units of eps_mach times the l1 norm of X.
_ROUNDING = 100 * np.finfo(float).eps
#: Entries below this times ||X||_2 are at the level of the dropped series tails (ignored by the box logic).
_FLOOR = 100 * SERIES_EPS
#: Smallest Magnus step (units 1/energy) before giving up.
_MIN_STEP = 1e-6


def box_from_kernel(cells: NDArray, values: NDArray, S: int) -> NDArray[np.complex128]:
    """Box array (N, N, 2S + 1, 2S + 1) from a kernel (cells (nS, 2), values (nS, N, N)); cells beyond S dropped."""
    cells = np.asarray(cells)
    values = np.asarray(values)
    N = values.shape[-1]
    keep = np.abs(cells).max(axis=1) <= S
    X = np.zeros((N, N, 2 * S + 1, 2 * S + 1), dtype=complex)
    X[:, :, cells[keep, 0] + S, cells[keep, 1] + S] = np.moveaxis(values[keep], 0, -1)
    return X


def kernel_current(hoppings: dict, positions: NDArray, lattice_vectors: NDArray, X: NDArray, S: int) -> NDArray[np.float64]:
    """Particle current per unit area j = Tr_cell(rho V) / A_cell from a box kernel, V = i[H, r].

    j = (1/A_cell) sum_d sum_ab X[d, b, a] (-i) (tau_a - tau_b - d) T_d[a, b]
    (the trace per cell of rho V, with rho~(tau_b, -d + tau_a) = X[d, b, a] by
    magnetic translation invariance; every phase cancels around the zero-area
    loop). Units: energy x a / a^2 (hbar = 1); multiply by q for the charge current.
    """
    A = np.asarray(lattice_vectors, dtype=float)
    tau = np.asarray(positions, dtype=float) @ A
    d_dim = A.shape[0]
    total = np.zeros(d_dim, dtype=complex)
    for d, T in hoppings.items():
        if max(abs(x) for x in d) > S:
            continue
        disp = tau[:, None, :] - tau[None, :, :] - np.asarray(d, dtype=float) @ A  # (a, b, dim)
        x = X[:, :, d[0] + S, d[1] + S]  # [b', a'] = X[d, b', a']
        total += np.einsum("ba,abi,ab->i", x, -1j * disp, T)
    if np.abs(total.imag).max() > 1e-9 * max(1.0, np.abs(total.real).max()):
        raise ConvergenceError(f"current has an imaginary part {total.imag}: the kernel is not Hermitian")
    return total.real / abs(np.linalg.det(A))


@dataclass
class KernelSnapshot:
    """The kernel at one output time with its cumulative error estimates.

    Attributes
    ----------
    time
        The time (1/energy).
    X, S
        Box array (N, N, 2S + 1, 2S + 1) and its radius.
    l1, l2
        Cumulative error estimates of the propagation (module docstring), by term.
    norm_drift
        | ||X(t)||_2 - ||X(t0)||_2 | (0 for the exact evolution).
    """

    time: float
    X: NDArray[np.complex128]
    S: int
    l1: dict = field(default_factory=dict)
    l2: dict = field(default_factory=dict)
    norm_drift: float = 0.0


class KernelStepper:
    """Propagate a box kernel under L(t) (module docstring) with adaptive box, Magnus ramp steps and error budget.

    Parameters
    ----------
    hoppings, positions, lattice_vectors
        The 2D model (``<r|H|r + d> = T_d``).
    beta
        q B / hbar (1/a^2).
    efield
        The uniform E (force q E, two components) or None.
    spectrum
        (lo, hi) bounding the spectrum of H_B.
    velocity
        Largest group velocity of the zero-field bands (energy x a).
    left, right
        1, 1: the density matrix (commutator); 1, 0: a propagator applied from the left.
    eps_l1, eps_l2
        Error budgets of the whole run in the two norms (module docstring).
    span
        Length of time the run will cover (to share the budgets over it).
    memory
        Largest memory (bytes) the box may take; :class:`BudgetError`-like
        ``exceed(needed_bytes, radius, time)`` is called beyond it.
    exceed
        Callback raising the budget error (message built by the caller).
    floor
        l1 mass of the tail that the initial kernel dropped (its truncation error). What it
        dropped is not a function of H: it travels outwards as a wave of that mass, already
        counted in the initial error, which the box need not follow (module docstring).
    """

    def __init__(
        self,
        hoppings: dict,
        positions: NDArray,
        lattice_vectors: NDArray,
        beta: float,
        efield: UniformE | None,
        spectrum: tuple[float, float],
        velocity: float,
        *,
        left: float = 1.0,
        right: float = 1.0,
        eps_l1: float,
        eps_l2: float,
        span: float,
        memory: float,
        exceed: Callable[[float, int, float], None],
        floor: float = 0.0,
    ) -> None:
        self.hoppings = hoppings
        self.positions = np.asarray(positions, dtype=float)
        self.lattice_vectors = np.asarray(lattice_vectors, dtype=float)
        self.beta = beta
        self.efield = efield
        self.force = np.zeros(2) if efield is None else efield.vector
        self.lo, self.hi = spectrum
        self.left, self.right = left, right
        self.velocity = velocity
        self.eps_l1, self.eps_l2 = eps_l1, eps_l2
        self.span = max(span, 1e-300)
        self.memory = memory
        self.exceed = exceed
        self.floor = float(floor)
        self._speeds: list[float] = []  # measured front speeds (cells per unit time)
        self._leaked = 0.0  # leak estimate so far (l1)
        self._last: tuple[float, int] | None = None
        self.gen: Generator | None = None
        self.matvecs = 0
        self.steps = 0

    # ------------------------------------------------------------------ generator and box

    def _bytes(self, S: int) -> float:
        """Memory of the generator and the work vectors of a box of radius S (estimate)."""
        N = self.positions.shape[0]
        size = N * N * (2 * S + 1) ** 2
        nnz_row = 2 * sum(int(np.count_nonzero(T)) for T in self.hoppings.values()) // N + 1
        return size * (nnz_row * 2 * 24.0 + 10 * 16.0)

    def _generator(self, S: int, t: float) -> Generator:
        if self.gen is None or self.gen.S != S:
            if self._bytes(S) > self.memory:
                self.exceed(self._bytes(S), S, t)
            self.gen = Generator(
                self.hoppings, self.positions, self.lattice_vectors, self.beta, S,
                left=self.left, right=self.right, force=self.force,
            )
            self._key = None
        return self.gen

    def _operator(self, gen: Generator, fbar: float, scale: float = 1.0):
        """(apply, center, halfwidth) of scale * L_B - fbar (F.s); the scaled matrix is cached per scale."""
        if self._key != scale:
            self._matrix, self._key = gen.matrix(scale), scale
        M, diag = self._matrix, gen.force_dot_s

        def apply(v):
            self.matvecs += 1
            out = M @ v
            if fbar:
                out -= fbar * diag * v
            return out

        both = self.left != 0 and self.right != 0
        width = (self.hi - self.lo) * (1.0 if both else 0.5) * abs(scale)
        center = 0.0 if both else 0.5 * (self.hi + self.lo) * scale
        half = 1.01 * width + abs(fbar) * float(np.linalg.norm(self.force)) * gen.max_s + 1e-12
        return apply, center, half

    @staticmethod
    def _significant(X: NDArray) -> NDArray[np.float64]:
        """|X| with the entries below the series floor zeroed.

        Each Chebyshev step leaves values of relative size SERIES_EPS (the dropped Bessel tail,
        counted in the ``series`` term) up to M r cells away; they must not steer the box.
        """
        a = np.abs(X)
        a[a < _FLOOR * float(np.linalg.norm(X))] = 0.0
        return a

    def _masses(self, X: NDArray, S: int) -> NDArray[np.float64]:
        """l1 mass per shell rho = 0..S, max over the (a, b) elements (entries above the series floor)."""
        shells = shell_of_box(S).ravel()
        a = self._significant(X).reshape(X.shape[0] * X.shape[1], -1)
        return np.stack([np.bincount(shells, w, minlength=S + 1) for w in a]).max(axis=0)

    @staticmethod
    def _l1(X: NDArray) -> float:
        """max over (a, b) of sum_R |X[a, b, R]|."""
        return float(np.abs(X).reshape(X.shape[0] * X.shape[1], -1).sum(axis=1).max())

    def _edge(self, X: NDArray, S: int) -> tuple[float, float]:
        """(l1, l2) mass of the outer r shells (the entries a hop can carry out of the box)."""
        r = max(self.gen.range if self.gen else 1, 1)
        shells = shell_of_box(S)
        outer = shells > S - r
        Xe = self._significant(X)[:, :, outer]
        return float(Xe.sum(axis=-1).max()), float(np.linalg.norm(Xe))

    def _margin(self, h: float) -> int:
        """Cells the front may advance in a step h: the measured front speed (at most ``velocity``), plus two hops."""
        r = max(abs(x) for d in self.hoppings for x in d)
        speeds = self._speeds[-8:]
        v = self.velocity if not speeds else min(self.velocity, max(0.25, 1.5 * max(speeds)))
        return math.ceil(v * abs(h)) + 2 * r + 2

    def _front(self, X: NDArray, S: int) -> int:
        """Smallest radius beyond which the kernel's l1 mass is below the threshold."""
        tails = np.append(np.cumsum(self._masses(X, S)[::-1])[::-1][1:], 0.0)  # mass beyond shell rho
        return int(np.argmax(tails <= self._threshold()))

    def _exact_step(self, X: NDArray, S: int) -> float:
        """Length of the next exact step: the phase x = halfwidth h that minimizes the products per unit
        time, (Bessel order of x) / h, times the box area the step needs (front + margin(h))."""
        half = self._operator(self.gen, 1.0)[2]
        front = self._front(X, S)
        best, h_best = math.inf, STEP_PHASE / half
        for x in _PHASES:
            h = x / half
            radius = max(S, front + self._margin(h))
            cost = _bessel_order(x) / h * (2 * radius + 1) ** 2
            if cost < best:
                best, h_best = cost, h
        return h_best

    def _ensure_box(self, X: NDArray, S: int, h: float, t: float, force_grow: bool = False) -> tuple[NDArray, int]:
        """Grow the box so that the kernel's l1 mass beyond S - margin is below the leak threshold."""
        front = self._front(X, S)
        if self._last is not None and t != self._last[0]:
            self._speeds.append(max(0.0, front - self._last[1]) / abs(t - self._last[0]))
        self._last = (t, front)
        need = front + self._margin(h)
        if need <= S and not force_grow:
            return X, S
        new = max(need, math.ceil(1.25 * S) + 1) if (need > S or force_grow) else S
        gen = self._generator(new, t)
        return gen.embed(X, S), new

    def _threshold(self) -> float:
        """The l1 mass the box lets lie beyond its front (module docstring, "Box and leakage").

        A packet of mass m that leaves through the edge adds about c_edge m tau to the leak
        estimate, tau the time it takes to cross the outer shells; the box keeps the mass
        beyond its front below the leak budget still unspent over c_edge LEAK_TIME, so that
        packets passing out in the rest of the run fit in it, and never below the floor.
        """
        c = 2.0 * sum(np.linalg.norm(T, 2) for d, T in self.hoppings.items() if any(d))
        remaining = max(self.eps_l1 * SHARE_LEAK - self._leaked, 0.0)
        return max(remaining / (c * min(LEAK_TIME, self.span)), self.floor)

    # ------------------------------------------------------------------ steps

    def _switch(self, t: NDArray) -> NDArray:
        return np.zeros_like(t) if self.efield is None else self.efield.switch(t)

    def _ramp_end(self) -> float:
        if self.efield is None:
            return -math.inf
        return self.efield.ramp

    def _exact(self, X: NDArray, S: int, h: float, fbar: float) -> tuple[NDArray, float]:
        """exp(-i h L) X for the constant length-gauge generator with f = fbar."""
        apply, center, half = self._operator(self.gen, fbar)
        y, tail, _ = chebyshev_exponential(apply, center, half, h, X.ravel())
        return y.reshape(X.shape), tail

    def _cf6(self, X: NDArray, S: int, t: float, h: float) -> tuple[NDArray, float]:
        """One sixth-order commutator-free Magnus step (module docstring): five exponentials of g_i L_B - phi_i (F.s)."""
        f = self._switch(t + h * _CF6_NODES)
        y, tails = X.ravel(), 0.0
        for g in _CF6_WEIGHTS:  # in the order of application
            apply, center, half = self._operator(self.gen, float(g @ f), float(g.sum()))
            y, tail, _ = chebyshev_exponential(apply, center, half, h, y)
            tails += tail
        return y.reshape(X.shape), tails

    def _ramp_allowance(self) -> float:
        """Magnus error allowed per unit time of the ramp: half the l1 budget spread over the ramp."""
        return 0.5 * self.eps_l1 / max(min(self.efield.ramp, self.span), 1e-300)

    def _boundary(self, t: float, direction: float) -> float:
        """The next time ahead of t (in ``direction``) where f(t) changes its regime: 0 or the ramp end."""
        if self.efield is None:
            return direction * math.inf
        marks = [0.0, self.efield.ramp] if self.efield.ramp > 0 else [0.0]
        ahead = [m for m in marks if direction * (m - t) > 1e-14 * max(1.0, abs(m))]
        return min(ahead, key=lambda m: abs(m - t)) if ahead else direction * math.inf

    def _in_ramp(self, t: float, direction: float) -> bool:
        if self.efield is None or self.efield.ramp == 0:
            return False
        probe = t + direction * 1e-12 * max(1.0, self.efield.ramp)
        return 0.0 < probe < self.efield.ramp

    def run(self, X0: NDArray, S0: int, t0: float, times: NDArray) -> list[KernelSnapshot]:
        """Propagate X0 (box radius S0) from t0 to every time of ``times`` (all on one side of t0).

        Returns one :class:`KernelSnapshot` per entry of ``times`` (same order).
        """
        times = np.asarray(times, dtype=float)
        direction = 1.0 if np.all(times >= t0) else -1.0
        if direction < 0 and np.any(times > t0):
            raise ValueError("times must all lie on one side of the start time")
        X, S = X0, S0
        self._generator(S, t0)
        norm0 = float(np.linalg.norm(X0))
        h_exact = STEP_PHASE / self._operator(self.gen, 1.0)[2]
        totals1 = {"series": 0.0, "ramp": 0.0, "leak": 0.0}
        totals2 = dict(totals1)
        out: dict[int, KernelSnapshot] = {}
        t = t0
        h_ramp = None if self.efield is None else min(h_exact, max(self.efield.ramp / 24.0, _MIN_STEP))
        for i in np.argsort(direction * times, kind="stable"):
            target = float(times[i])
            while direction * (target - t) > 1e-13 * max(1.0, abs(target)):
                boundary = self._boundary(t, direction)
                stop = target if direction * (target - boundary) <= 0 else boundary
                ramp = self._in_ramp(t, direction)
                h = direction * min(h_ramp if ramp else self._exact_step(X, S), abs(stop - t))
                X, S = self._ensure_box(X, S, h, t)
                edge_before = self._edge(X, S)
                if ramp:
                    X_new, h, err1, err2, tail = self._magnus_step(X, S, t, h)
                    h_ramp = self._next_ramp_step(max(err1 - _ROUNDING * self._l1(X), 1e-300), h, h_exact)
                else:
                    err1 = err2 = 0.0
                    X_new, tail = self._exact(X, S, h, float(self._switch(np.array(t + 0.5 * h))))
                edge_after = self._edge(X_new, S)
                if edge_after[0] > 10 * self._threshold():
                    X, S = self._ensure_box(X, S, h, t, force_grow=True)  # repeat the step on a larger box
                    continue
                c = self.gen.edge_norm
                for totals, e, k in ((totals1, err1, 0), (totals2, err2, 1)):
                    totals["ramp"] += e
                    totals["series"] += tail
                    # edge mass up to the floor belongs to the wave of the initial truncation (counted there)
                    totals["leak"] += c * abs(h) * max(0.0, max(edge_before[k], edge_after[k]) - self.floor)
                self._leaked = totals1["leak"]
                X, t = X_new, t + h
                self.steps += 1
            out[int(i)] = KernelSnapshot(
                t, X.copy(), S, dict(totals1), dict(totals2), abs(float(np.linalg.norm(X)) - norm0)
            )
        return [out[i] for i in range(len(times))]

    def _next_ramp_step(self, local: float, h: float, h_max: float) -> float:
        """The ramp step that the error model predicts to meet the allowance (growth at most 2x, cut at most 5x)."""
        ratio = self._ramp_allowance() * abs(h) / max(local, 1e-300)
        return min(h_max, abs(h) * min(2.0, max(0.2, 0.9 * ratio ** (1.0 / _ORDER))))

    def _magnus_step(self, X: NDArray, S: int, t: float, h: float):
        """One Magnus step with its step-doubling estimate, h shrunk until the estimate fits the budget.

        Returns the finer (two half steps) result, the step taken, the l1 and l2 estimates and the series tails.
        """
        allowed = self._ramp_allowance()
        while True:
            big, tail1 = self._cf6(X, S, t, h)
            half, tail2 = self._cf6(X, S, t, 0.5 * h)
            half, tail3 = self._cf6(half, S, t + 0.5 * h, 0.5 * h)
            diff = (half - big) * _RICHARDSON
            err1 = float(np.abs(diff).reshape(X.shape[0] * X.shape[1], -1).sum(axis=1).max())
            err2 = float(np.linalg.norm(diff))
            # rounding of the Chebyshev sums (measured ~ 40 eps l1(X)) is no reason to shrink the step
            floor = _ROUNDING * float(np.abs(X).reshape(X.shape[0] * X.shape[1], -1).sum(axis=1).max())
            if err1 <= max(allowed * abs(h), floor):
                return half, h, err1, err2, tail1 + tail2 + tail3
            if abs(h) <= _MIN_STEP:
                raise ConvergenceError(
                    f"Magnus steps of the ramp reach {_MIN_STEP:g} without meeting the error budget "
                    f"({err1:.2g} > {allowed * abs(h):.2g})"
                )
            h *= max(0.2, 0.9 * (allowed * abs(h) / (err1 - floor)) ** (1.0 / _ORDER))
