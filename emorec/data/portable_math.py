"""exp and tanh that give the same bits on every processor, for the stand-in generators.

NumPy picks its ``exp``/``tanh`` kernels by processor (AVX2 and AVX-512 machines run different
polynomials, and BLAS picks its kernels too), so a stand-in drawn with them differed in the last
bits from one machine to another and its fingerprint with them. These use only IEEE-754 basic
operations (``+ - * /``, ``rint``, ``ldexp``), which every processor rounds the same way, in a
fixed order: Cody-Waite range reduction and a degree-13 Taylor polynomial (relative error below
1e-15, far below anything a stand-in needs).
"""

from __future__ import annotations

import numpy as np

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_TERMS = 13
_EXP_LIMIT = 700.0                     # exp(700) is still a finite float64


def exp(x) -> np.ndarray:
    """e ** x, elementwise, as float64 (``x`` clipped to [-700, 700])."""
    x = np.clip(np.asarray(x, dtype=np.float64), -_EXP_LIMIT, _EXP_LIMIT)
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO          # |r| <= ln(2) / 2
    series = np.ones_like(r)
    for n in range(_TERMS, 0, -1):              # Horner: 1 + r/1 (1 + r/2 (1 + ... ))
        series = 1.0 + (r / n) * series
    return np.ldexp(series, k.astype(np.int64))


def tanh(x) -> np.ndarray:
    """tanh(x), elementwise, as float64: sign(x) (1 - 2 / (exp(2|x|) + 1))."""
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.minimum(np.abs(x), 20.0)      # tanh(20) is 1 in float64
    return np.sign(x) * (1.0 - 2.0 / (exp(2.0 * magnitude) + 1.0))
