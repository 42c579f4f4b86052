"""The built-in catalog: names, states, k-points, sweeps (no exact-side runs here)."""

from __future__ import annotations

import numpy as np
import pytest

from keldysh.spectral import band_edges
from semiclassics.geometry import chern_numbers_fhs
from validation import DEFAULT_SWEEP, available, get
from validation.catalog.common import KPOINT_FRACTIONS, LOW_FLUX_SWEEP, MODELS, STATES, generic_kpoints
from validation.executor import group_points

EXPECTED = {
    "spectral_weights_printed[qwz]", "spectral_weights_corrected[qwz]",
    "spectral_weights_printed[three_band]", "spectral_weights_corrected[three_band]",
    "total_spectral_weight[qwz]", "total_spectral_weight[three_band]",
    "quasiparticle_energy[qwz]", "quasiparticle_energy[three_band]",
    "equilibrium_density[qwz-gap]", "equilibrium_density[qwz-metal]", "equilibrium_density[three_band-gap]",
    "band_density[qwz-gap]", "band_density[qwz-metal]", "band_density[three_band-gap]",
    "transverse_density[qwz-gap]", "transverse_density[qwz-metal]",
    "spin_density[qwz-gap]", "spin_density[qwz-metal]",
    "spin_density_wavepacket[qwz-gap]", "spin_density_wavepacket[qwz-metal]",
}  # fmt: skip


def test_catalog_names_and_metadata():
    names = set(available())
    assert EXPECTED <= names
    for name in EXPECTED:
        c = get(name)
        assert c.equation.startswith("Eq. ") and c.description and c.units
        if c.counterpart:
            assert get(c.counterpart).counterpart == name
    assert get("spectral_weights_corrected[qwz]").prediction_kind == "corrected"
    assert get("band_density[three_band-gap]").equation == "Eq. 19"
    assert get("spin_density_wavepacket[qwz-gap]").expected_order == 1


@pytest.mark.parametrize("key", sorted(STATES))
def test_states_lie_where_documented(key):
    model_key, state = STATES[key]
    edges = band_edges(MODELS[model_key][0](), 192)
    inside = [(lo, hi) for lo, hi in edges if lo < state.mu < hi]
    if state.T == 0:  # in a global gap, away from both edges by > 0.3
        assert not inside
        below, above = edges[edges[:, 1] < state.mu, 1].max(), edges[edges[:, 0] > state.mu, 0].min()
        assert min(state.mu - below, above - state.mu) > 0.3
    else:  # a metal: inside one band, at least 3 T from its edges
        (lo, hi), = inside
        assert min(state.mu - lo, hi - state.mu) >= 3 * state.T


def test_documented_chern_numbers():
    """The module docstring of validation.catalog.common: the lower band of qwz(1, t0=0.3) has C = -1 (FHS links)."""
    np.testing.assert_allclose(chern_numbers_fhs(MODELS["qwz"][0](), 48), [-1.0, 1.0], atol=1e-12)


def test_generic_kpoints_avoid_high_symmetry():
    frac = np.concatenate([KPOINT_FRACTIONS, 1 - KPOINT_FRACTIONS])
    for special in (0.0, 0.25, 0.5, 0.75, 1.0):
        assert np.min(np.abs(frac - special)) > 0.02
    assert np.min(np.abs(KPOINT_FRACTIONS[:, 0] - KPOINT_FRACTIONS[:, 1])) > 0.02  # off the diagonal
    assert generic_kpoints(MODELS["qwz"][0]()) == pytest.approx(2 * np.pi * KPOINT_FRACTIONS)


def test_low_flux_sweep_shares_the_default_fluxes():
    assert len(LOW_FLUX_SWEEP.values) == 8 and LOW_FLUX_SWEEP.decades == pytest.approx(2.0)
    metal, gap = get("spin_density[qwz-metal]"), get("spin_density[qwz-gap]")
    assert metal.sweep == LOW_FLUX_SWEEP and gap.sweep == DEFAULT_SWEEP
    assert {get(n).sweep for n in available() if "three_band" in n} == {LOW_FLUX_SWEEP}
    tasks = group_points([(metal, metal.sweep), (gap, gap.sweep)])
    assert len(tasks) == 10  # 8 + 8 fluxes, 6 of them shared
