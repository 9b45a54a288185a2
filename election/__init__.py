"""Election Coding: Byzantine-robust SignSGD with majority vote over coded data partitions.

Sohn, Han, Choi, Moon, "Election Coding for Distributed Learning: Protecting SignSGD against
Byzantine Attacks", NeurIPS 2020 (arXiv:1910.06093).

This package is the pure core: codes, packed ternary votes, attacks, data, models and the
training step. It never imports grpc, mpi4py, generated protobuf code, the services or the
command line (``election_cli``); tests/unit/test_core_imports.py enforces it.
"""

__version__ = "0.1.0"
