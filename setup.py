"""Build hook for the one native module; everything else is configured in pyproject.toml.

``election.votes._planes`` (a block-wise executor for the bit-sliced majority, see
election/votes/_planes.c) is optional: without a C compiler the install still succeeds and
``election.votes`` falls back to its numpy executor (``election bench votes`` reports which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "election.votes._planes",
            sources=["election/votes/_planes.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
