"""Election codes: allocation matrices, their exact verification, design and analysis.

See docs/design.md §2 and Sohn et al. 2020 (arXiv 1910.06093), §3-4.
"""

from .design import DesignResult, minimum_redundancy_code
from .matrix import AllocationCode, load_matrix
from .registry import CODE_KINDS, CODES, make_code
from .verify import Counterexample, Verification, verify

__all__ = [
    "CODES",
    "CODE_KINDS",
    "AllocationCode",
    "Counterexample",
    "DesignResult",
    "Verification",
    "load_matrix",
    "make_code",
    "minimum_redundancy_code",
    "verify",
]
