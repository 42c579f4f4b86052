"""The catalog's uniform-E comparisons (validation/catalog/efield.py): measured orders on their own sweeps."""

from __future__ import annotations

import pytest

from validation import ALL_ORDERS, EXACT
from validation.catalog import efield
from validation.testing import assert_order


@pytest.mark.slow
def test_registered_efield_comparisons():
    assert efield.E_SWEEP.variable == "E" and efield.HBAR_SWEEP.variable == "hbar"
    for name in ("efield_transverse_density[qwz-gap]", "efield_transverse_density[qwz-gap,hbar]",
                 "efield_transverse_density[qwz-metal]", "anomalous_velocity[qwz]", "anomalous_velocity[qwz,hbar]"):
        assert_order(name, min_order=1.9, max_order=2.1, verdict=EXACT)
    assert_order("hall_current[qwz-metal]", min_order=2.7, max_order=3.1, verdict=EXACT)  # O(E^3): even in E by C4
    assert_order("current[qwz-metal]", min_order=2.0, verdict=EXACT)
    for name in ("hall_current[qwz-gap]", "hall_current[haldane-gap]"):
        assert_order(name, verdict=ALL_ORDERS)  # quantized to all orders in E (Zener tunnelling is exp-small)
