"""The verdicts a report can carry: their order from best to worst, and how they are drawn.

One table, :data:`VERDICT_STYLES`, says for every verdict its rank (0 = best),
a short key (the CSS class ``v-<key>`` of a verdict cell in the HTML), a glyph
(the same shape as its marker in the figures, so a page printed in grey still
tells the verdicts apart), a colour and a light tint for table cells. The
colours are the Okabe-Ito palette, which stays distinct for the common forms of
colour blindness; every coloured mark also carries its text label or a glyph.

Order from best to worst (the rank used by ``keldysh-validate diff``): the
closer the measured residual comes to the exact side, the better.

0. ``agrees at every field``: every point at the error floor (holds beyond O(hbar));
1. ``exact to O(hbar)``: fitted order >= 1.8;
2. ``non-perturbative onset``: agrees below a threshold field, then a residual
   growing faster than any power of the field;
3. ``inconclusive``: order between 1.2 and 1.8, or too few points above the floor;
4. ``fails at O(hbar)``: fitted order <= 1.2;
5. a verdict string not in the table (one added later): drawn grey with its own
   text, and ranked here so that a change into it counts as worse until it is
   given a place in the table;
6. ``error``: the comparison raised; no verdict on the physics.
"""

from __future__ import annotations

from dataclasses import dataclass

from .convergence import ALL_ORDERS, ERROR, EXACT, FAILS, INCONCLUSIVE, NONPERTURBATIVE

__all__ = ["VERDICT_STYLES", "VerdictStyle", "is_failure", "verdict_rank", "verdict_style"]


@dataclass(frozen=True)
class VerdictStyle:
    """How one verdict is ranked and drawn."""

    rank: int
    key: str
    label: str
    glyph: str
    marker: str
    colour: str
    tint: str


#: Every known verdict, best first (the verdict constants of :mod:`validation.convergence`).
VERDICT_STYLES: tuple[VerdictStyle, ...] = (
    VerdictStyle(0, "all-orders", ALL_ORDERS, "\u25a0", "s", "#009E73", "#c7ecdf"),
    VerdictStyle(1, "exact", EXACT, "\u25cf", "o", "#0072B2", "#cde3f3"),
    VerdictStyle(2, "onset", NONPERTURBATIVE, "\u25b2", "^", "#CC79A7", "#f4dceb"),
    VerdictStyle(3, "inconclusive", INCONCLUSIVE, "\u25c6", "D", "#E69F00", "#fbe7bd"),
    VerdictStyle(4, "fails", FAILS, "\u25bc", "v", "#D55E00", "#f7d3bd"),
    VerdictStyle(6, "error", ERROR, "\u2716", "X", "#000000", "#d9d9d9"),
)
_BY_LABEL = {s.label: s for s in VERDICT_STYLES}
_UNKNOWN = VerdictStyle(5, "other", "another verdict", "?", "P", "#7f7f7f", "#eeeeee")


def verdict_style(verdict: str) -> VerdictStyle:
    """The style of a verdict string (grey ``other`` for a verdict not in :data:`VERDICT_STYLES`)."""
    return _BY_LABEL.get(verdict, _UNKNOWN)


def verdict_rank(verdict: str) -> int:
    """Rank of a verdict, 0 = best (see the module docstring for the order)."""
    return verdict_style(verdict).rank


def is_failure(verdict: str) -> bool:
    """True for verdicts that do not establish agreement at O(hbar): inconclusive, fails, error, unknown."""
    return verdict_rank(verdict) >= verdict_rank(INCONCLUSIVE)
