"""``election grid``: a cartesian grid of training runs, resumable and parallel (docs/grid.md).

- :mod:`election.grid.spec`: the JSON/TOML spec, its expansion into cells, config checks;
- :mod:`election.grid.cells`: a cell's stable key and its record (what resume reads);
- :mod:`election.grid.runner`: cells in worker processes, whole-grid progress;
- :mod:`election.grid.table`: result rows, gaps, the worst case over attacks;
- :mod:`election.grid.plots`: curves, heatmaps and the cost frontier;
- :mod:`election.grid.driver`: all of it end to end into a grid folder.
"""

from election.grid.cells import cell_key
from election.grid.spec import Cell, GridSpec, expand, load_spec, parse_spec

__all__ = ["Cell", "GridSpec", "cell_key", "expand", "load_spec", "parse_spec"]
