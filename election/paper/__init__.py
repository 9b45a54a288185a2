"""The paper's own interface: its flags (cifar10/main.py), its run.sh lines and its Amazon run.

:mod:`.flags` translates the official code's flags into :class:`election.config.TrainConfig`
values with the official meaning; :mod:`.presets` names every run.sh line and the Amazon and
MPI runs. docs/paper.md maps each flag to the official file:line it reproduces.
"""
