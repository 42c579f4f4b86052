"""Built-in comparisons, one module per topic; importing this package registers them.

- :mod:`.spectral`: spectral weights Z_n^m (Eq. 14, printed and corrected) and Z_tot^n (Eq. 15);
- :mod:`.energy`: quasiparticle energies (Eq. 12);
- :mod:`.density`: electrons per cell (Eq. 17), band-projected (Eqs. 19, 25) and transverse (Eq. 26)
  density matrix;
- :mod:`.spin`: pseudospin density (Eqs. 28b and 27b);
- :mod:`.efield`: uniform E (Eqs. 26, 29a, 34, 35);
- :mod:`.weyl`: Weyl semimetal, chiral magnetic effect (Eqs. 34, 36) and chiral anomaly (Eq. 33).

Models, states and k-points are in :mod:`.common`.
"""

from . import spectral, energy, density, spin, efield, weyl  # noqa: F401, I001  (registration on import, in this order)
