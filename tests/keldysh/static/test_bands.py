"""Zero-field planning data: honest kernel ranges and tails, content-keyed caches."""

import math

import pytest

from keldysh import models
from keldysh.spectral import FermiDirac, band_window
from keldysh.static.bands import _zero_field_masses, model_fingerprint, shell_tails, zero_field_range

QWZ = models.qwz(1.0, t0=0.3)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, f",
    [(QWZ, FermiDirac(-1.5, 0.1)), (QWZ, FermiDirac(2.0, 0.1)), (models.haldane(), FermiDirac(-1.0, 0.1))],
    ids=["qwz lower band", "qwz upper band", "haldane"],
)
def test_extrapolated_range_and_tail_are_honest(model, f):
    """Metals decay beyond the 128-grid: the extrapolated range S keeps the true tail (512-grid) below the
    budget, and the extrapolated tail beyond the solver's first output range 1.05 S + 3 is not below the true one."""
    budget = 1e-10
    S, decay = zero_field_range(model, f, budget)
    assert math.isfinite(decay.rate)  # the extrapolating branch
    true_tail = shell_tails(_zero_field_masses(model, f, 512))
    assert true_tail[S] <= budget < true_tail[S - 4]
    S_out = math.ceil(1.05 * S) + 3
    assert decay.tail(S_out) >= true_tail[S_out]
    assert decay.tail(S - 1) - decay.tail(S) == pytest.approx(float(decay.mass(S)), rel=1e-12)


def test_measured_range_of_a_projector():
    """A gapped band projector decays within the grid: measured, no extrapolation, tail below the budget."""
    S, decay = zero_field_range(QWZ, band_window(QWZ, 0), 1e-11)
    assert not math.isfinite(decay.rate) and decay.tail(S) <= 1e-11 < decay.tail(S - 1)
    assert shell_tails(_zero_field_masses(QWZ, band_window(QWZ, 0), 256))[S] <= 1.01e-11


def test_fingerprint_is_a_content_key():
    assert model_fingerprint(models.qwz(1.0, t0=0.3)) == model_fingerprint(QWZ)
    assert model_fingerprint(models.qwz(1.0, t0=0.31)) != model_fingerprint(QWZ)
    assert len({model_fingerprint(m) for m in (QWZ, models.haldane(), models.three_band())}) == 3
