"""Uniform electric field: exact time evolution against Eqs. 26, 29a, 34 and 35.

Protocol (both sides see the same experiment). The clean lattice is prepared
in equilibrium, rho_k(0) = n_F(h(k)) (or the band projector P_n(k) for the
velocity of one band), and the uniform field q E = E e_hat (e_hat at 0.3 rad
from x) is switched on at t = 0 by the erf ramp of :class:`keldysh.UniformE`
of duration tau = :data:`RAMP_GAP_UNITS` / gap (gap = the smallest direct gap).
The non-adiabatic remnant of the switch-on is the Fourier transform of dE/dt
at the interband frequency: for the erf ramp (half-width x0 = 5.9 in units of
tau, :class:`keldysh.UniformE`) about exp(-(gap tau)^2 / (16 x0^2)) relative
to the O(E) response, exp(-18) at gap tau = 100, so what is left is the O(E^2)
residual itself (the ramp-time dependence is tested in
``tests/keldysh/test_fields.py``: tau^-2 for a sin^2 ramp, faster than any
power for the erf ramp). Everything is observed at the end of the ramp, t = tau.

Exact side (:mod:`keldysh.dynamics.evolution`, temporal gauge, canonical k conserved):

- Wigner density matrix at kinetic momentum p: W(p) = rho_{k = p + qA(tau)}(tau);
  its interband part rho_perp_c = Tr(sigma_c (W - sum_n P_n(p) W P_n(p)));
- band velocity: Tr(rho_k(tau) d_k h(p)) for rho_k(0) = P_n(k);
- particle current density j = (1/(N_k A_cell)) sum_k Tr(rho_k(tau) d_k h(p)) on a
  uniform grid of canonical k (the Hall current is its component
  j_perp = j . (e_hat x z); sigma^{xy} = 2 pi j_perp / E in units of q^2/h).

Semiclassical side: the distributions evolve by the Vlasov equation (Eq. 30 with
F = q E): f^n(p, tau) = n_F(eps_n(p - Delta p)), Delta p = int_0^tau q E dt
(:func:`semiclassics.efield.accelerated_occupations`); then Eq. 26 with the
E-field brackets ({lambda^0, u} = q E . d_p u, {f, u} = 0), Eq. 29a, Eq. 34 and
Eq. 35 (:mod:`semiclassics.efield`, :mod:`semiclassics.kinetics`,
:mod:`semiclassics.transport`).

Sweeps. ``E``: the strength |q E| (energy / a). ``hbar``: the lattice constant
scales as a = hbar a0 so that h(p) is a fixed function of the momentum p, the
field q E0 is fixed, and times are measured in units of hbar (t = hbar t0, the
ramp duration and observation time fixed in t0). Then i hbar d_t = i d_t0 and
dp/dt0 = hbar q E0: the exact problem at hbar is the lattice problem at
q E = hbar q E0 on the same time grid t0, the same relabelling as
flux = hbar flux0 for B. The predictions are evaluated with E0 and an explicit
hbar (rho_perp and the anomalous velocity are proportional to hbar E0). The
Wigner density (dimensionless) and the band velocity of Eq. 29a are swept in
hbar as well as in E (:data:`HBAR_SWEEP`); the currents only in E.

The propagation tolerance (max error of the propagator elements) is the
comparison's ``exact_tol``; the BZ-integrated predictions carry a quadrature
floor from a coarser grid.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from keldysh import models
from keldysh.dynamics.evolution import Evolution, current_density, initial_density, propagate
from keldysh.fields import UniformE
from semiclassics.efield import accelerated_occupations, transverse_density
from semiclassics.geometry import reciprocal_grid
from semiclassics.kinetics import velocity
from semiclassics.transport import hall_conductivity

from ..comparison import Comparison
from ..registry import register
from ..sweep import ElectricField, Sweep
from .common import KPOINTS_TEXT, MODELS, STATES, State, eigenprojectors, generic_kpoints, interband_pauli

__all__ = [
    "DIRECTION",
    "E_SWEEP",
    "HBAR_SWEEP",
    "RAMP_GAP_UNITS",
    "field_at",
    "exact_transverse_density",
    "predicted_transverse_density",
    "exact_band_velocity",
    "predicted_band_velocity",
    "exact_current",
    "exact_hall_current",
    "predicted_hall_current",
    "predicted_current",
]

#: Direction of q E (unit vector at 0.3 rad from x: generic, both components act).
DIRECTION = np.array([math.cos(0.3), math.sin(0.3)])
#: Ramp duration in units of 1 / (smallest direct gap).
RAMP_GAP_UNITS = 100.0
#: Field sweep: |q E| from 0.04 to 0.004 (5 points).
E_SWEEP = Sweep.log(0.04, 0.004, 5, variable="E")
#: hbar sweep at q E0 = 0.04: hbar from 1 to 0.1 (5 points).
HBAR_SWEEP = Sweep.log(1.0, 0.1, 5, variable="hbar", E0=0.04)

#: The coarse grid of the Eq. 35 quadrature floor, as a fraction of the fine grid.
COARSE_FACTOR = 0.75

#: Models of this catalog: (factory, label, smallest direct gap, BZ grid of the currents).
EFIELD_MODELS = {
    "qwz": (MODELS["qwz"][0], MODELS["qwz"][1], 2.0, 32),
    "haldane": (functools.partial(models.haldane), "haldane(t1=1, t2=0.15, phi=pi/2, M=0)", 0.9 * math.sqrt(3), 24),
}
#: States: (model key, state); haldane-gap has mu at the particle-hole symmetric midgap.
EFIELD_STATES = {
    "qwz-gap": STATES["qwz-gap"],
    "qwz-metal": STATES["qwz-metal"],
    "haldane-gap": ("haldane", State("haldane-gap", mu=0.0, T=0.0)),
}


def field_at(point: ElectricField, model_key: str) -> tuple[UniformE, float]:
    """The lattice field of a sweep point and the observation time (end of the ramp).

    Times are in units of hbar (see the module docstring): the lattice sees
    q E = hbar * point.E along :data:`DIRECTION`.
    """
    gap = EFIELD_MODELS[model_key][2]
    tau = RAMP_GAP_UNITS / gap
    return UniformE(point.hbar * point.E * DIRECTION, ramp=tau, profile="erf"), tau


# --- exact side --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _generic_evolution(model_key: str, E: float, tol: float) -> tuple[np.ndarray, Evolution]:
    """(kinetic p, evolution of the canonical k = p + qA(tau)) at the generic k-points (cached per process)."""
    model = EFIELD_MODELS[model_key][0]()
    field, tau = field_at(ElectricField(E), model_key)
    p = generic_kpoints(model)
    return p, propagate(model, field, field.canonical_momentum(p, tau), [tau], tol=tol)


@functools.lru_cache(maxsize=16)
def _grid_evolution(model_key: str, E: float, tol: float) -> Evolution:
    """Evolution of the uniform grid of canonical k (cached per process: shared by every state of the model)."""
    factory, _, _, grid = EFIELD_MODELS[model_key]
    model = factory()
    field, tau = field_at(ElectricField(E), model_key)
    return propagate(model, field, reciprocal_grid(model, grid), [tau], tol=tol)


def _lattice_E(point: ElectricField) -> float:
    return float(point.hbar * point.E)


def exact_transverse_density(model, point: ElectricField, *, tol: float, model_key: str, state: State) -> np.ndarray:
    """rho_perp_c(p) = Tr(sigma_c (W - sum_n P_n W P_n)) of the exact Wigner density at the generic p, shape (8, 3)."""
    p, evo = _generic_evolution(model_key, _lattice_E(point), tol)
    return interband_pauli(model, p, evo.density_matrix(initial_density(model, evo.k, state.f))[0])


def exact_band_velocity(model, point: ElectricField, *, tol: float, model_key: str) -> np.ndarray:
    """Tr(rho_k(tau) d_k h(p)) for rho_k(0) = P_n(k), every band, at the generic p; shape (8, N, d)."""
    p, evo = _generic_evolution(model_key, _lattice_E(point), tol)
    rho = np.einsum("kab,knbc,kdc->knad", evo.U[0], eigenprojectors(model, evo.k), np.conj(evo.U[0]))
    return np.einsum("knab,kiba->kni", rho, model.bloch_derivative(p)).real


@functools.lru_cache(maxsize=32)
def _exact_current(model_key: str, state_key: str, E: float, tol: float) -> np.ndarray:
    model = EFIELD_MODELS[model_key][0]()
    evo = _grid_evolution(model_key, E, tol)
    return current_density(model, evo, initial_density(model, evo.k, EFIELD_STATES[state_key][1].f))[0]


def exact_current(model, point: ElectricField, *, tol: float, model_key: str, state_key: str) -> np.ndarray:
    """Particle current density j (units q / (time a)) at the end of the ramp, shape (2,)."""
    return _exact_current(model_key, state_key, _lattice_E(point), tol).copy()


def exact_hall_current(model, point: ElectricField, *, tol: float, model_key: str, state_key: str) -> np.ndarray:
    """Hall component j_perp = j . (e_hat x z) of the exact current, shape ()."""
    j = exact_current(model, point, tol=tol, model_key=model_key, state_key=state_key)
    return np.asarray(j @ np.array([DIRECTION[1], -DIRECTION[0]]))


# --- predictions -------------------------------------------------------------------------------
def _impulse(point: ElectricField, model_key: str) -> np.ndarray:
    """Delta p = int_0^tau q E dt = -q A(tau) of the protocol (same in both descriptions)."""
    field, tau = field_at(point, model_key)
    return -field.vector_potential(tau)


def predicted_transverse_density(model, point: ElectricField, *, model_key: str, state: State) -> np.ndarray:
    """Eq. 26 with the E-field brackets and the Vlasov-accelerated distributions, at the generic p; shape (8, 3)."""
    p = generic_kpoints(model)
    occ = accelerated_occupations(model, p, _impulse(point, model_key), state.f)
    return transverse_density(model, p, point.E * DIRECTION, occ, hbar=point.hbar)


def predicted_band_velocity(model, point: ElectricField, *, model_key: str) -> np.ndarray:
    """Eq. 29a (B = 0): v_n = d_p eps_n - hbar q E x Omega_n at the generic p; shape (8, N, d)."""
    return velocity(model, generic_kpoints(model), E=point.E * DIRECTION, hbar=point.hbar)


def predicted_hall_current(model, point: ElectricField, *, state: State, grid: int) -> np.ndarray:
    """Eq. 35: j_perp = sigma^{xy} |q E| / (2 pi) with sigma^{xy} (units q^2/h) on a grid x grid mesh; shape ()."""
    sigma = hall_conductivity(model, state.f, grid).sum()
    return np.asarray(sigma * point.E / (2 * np.pi))


def predicted_current(model, point: ElectricField, *, model_key: str, state: State) -> np.ndarray:
    """Eq. 34 (B = 0): j = sum_n int f_n v_n with Eq. 29a velocities and Vlasov-accelerated f_n; shape (2,).

    Evaluated on the kinetic momenta p = k - qA(tau) of the exact side's grid of
    canonical k (the same uniform grid, shifted).
    """
    field, tau = field_at(point, model_key)
    grid = EFIELD_MODELS[model_key][3]
    p = reciprocal_grid(model, grid) - field.vector_potential(tau)
    occ = accelerated_occupations(model, p, _impulse(point, model_key), state.f)
    v = velocity(model, p, E=point.E * DIRECTION)
    return (occ[..., None] * v).reshape(-1, model.dim).sum(axis=0) / (grid**2 * model.cell_area)


# --- registry ----------------------------------------------------------------------------------
def _label(model_key: str, state: State | None = None) -> str:
    label = EFIELD_MODELS[model_key][1]
    ramp = RAMP_GAP_UNITS / EFIELD_MODELS[model_key][2]
    text = f"{label}, qE along (cos 0.3, sin 0.3), erf ramp tau={ramp:.3g}"
    return text if state is None else f"{text}, {state.describe()}"


def _transverse_comparisons():
    for state_key in ("qwz-gap", "qwz-metal"):
        model_key, state = EFIELD_STATES[state_key]
        sweeps = [("E", E_SWEEP)] + ([("hbar", HBAR_SWEEP)] if state_key == "qwz-gap" else [])
        for variable, sweep in sweeps:
            suffix = "" if variable == "E" else ",hbar"
            yield Comparison(
                name=f"efield_transverse_density[{state_key}{suffix}]",
                description=(
                    "Interband part of the Wigner density matrix at kinetic momentum p after switching on a uniform E: "
                    "exact Tr(sigma_c (W - sum_n P_n W P_n)) against Eq. 26 with {lambda^0, u} = qE.d_p u, "
                    "{f, u} = 0: -(hbar/2) u x (qE.d_p u)(f^up - f^dn)/Delta, f Vlasov-accelerated."
                ),
                model=EFIELD_MODELS[model_key][0],
                model_label=_label(model_key, state),
                exact=functools.partial(exact_transverse_density, model_key=model_key, state=state),
                prediction=functools.partial(predicted_transverse_density, model_key=model_key, state=state),
                equation="Eq. 26",
                sweep=sweep,
                points=KPOINTS_TEXT,
                units="dimensionless (Pauli components)",
                exact_tol=1e-9,
            )


def _velocity_comparisons():
    for variable, sweep in (("E", E_SWEEP), ("hbar", HBAR_SWEEP)):
        yield Comparison(
            name="anomalous_velocity[qwz]" if variable == "E" else "anomalous_velocity[qwz,hbar]",
            description=(
                "Velocity of a state that starts in band n and follows it adiabatically after switching on a "
                "uniform E: exact Tr(rho_k d_k h(p)) with rho_k(0) = P_n(k), against Eq. 29a, "
                "d_p eps_n - hbar qE x Omega_n."
            ),
            model=EFIELD_MODELS["qwz"][0],
            model_label=_label("qwz") + ", both bands",
            exact=functools.partial(exact_band_velocity, model_key="qwz"),
            prediction=functools.partial(predicted_band_velocity, model_key="qwz"),
            equation="Eq. 29a",
            sweep=sweep,
            points=KPOINTS_TEXT,
            units="energy x a (hbar = 1)",
            exact_tol=1e-9,
        )


def _current_comparisons():
    for state_key, (model_key, state) in EFIELD_STATES.items():
        factory, _, _, grid = EFIELD_MODELS[model_key]
        coarse = int(COARSE_FACTOR * grid)
        gap = state.T == 0
        yield Comparison(
            name=f"hall_current[{state_key}]",
            description=(
                "Hall current j . (e_hat x z) at the end of the E ramp: exact current of the evolved lattice against "
                "Eq. 35, sigma^xy |qE| / 2 pi with sigma^xy = -(q^2/hbar) int n_F Omega^xy"
                + (" (quantized, -C q^2/h, mu in the gap)." if gap else " (Fermi-sea integral, a metal at T > 0).")
            ),
            model=factory,
            model_label=_label(model_key, state),
            exact=functools.partial(exact_hall_current, model_key=model_key, state_key=state_key),
            prediction=functools.partial(predicted_hall_current, state=state, grid=grid),
            prediction_coarse=functools.partial(predicted_hall_current, state=state, grid=coarse),
            equation="Eq. 35",
            sweep=E_SWEEP,
            points=f"integral (BZ grid {grid}x{grid}; quadrature error from {coarse}x{coarse})",
            units="particle current density (q / (time a)), hbar = 1",
            exact_tol=1e-9,
        )
    model_key, state = EFIELD_STATES["qwz-metal"]
    factory, _, _, grid = EFIELD_MODELS[model_key]
    yield Comparison(
        name="current[qwz-metal]",
        description=(
            "Current vector at the end of the E ramp in a metal: exact current against Eq. 34 (B = 0), "
            "sum_n int f_n (d_p eps_n - hbar qE x Omega_n), with f_n the Vlasov-accelerated Fermi functions."
        ),
        model=factory,
        model_label=_label(model_key, state),
        exact=functools.partial(exact_current, model_key=model_key, state_key="qwz-metal"),
        prediction=functools.partial(predicted_current, model_key=model_key, state=state),
        equation="Eq. 34",
        sweep=E_SWEEP,
        points=f"integral (the exact side's grid {grid}x{grid} of canonical k, shifted to kinetic p)",
        units="particle current density (q / (time a)), hbar = 1",
        exact_tol=1e-9,
    )


register(_transverse_comparisons)
register(_velocity_comparisons)
register(_current_comparisons)
