"""The account health sweep: score every active account, write back what changed in
checkpointed batches (a killed run resumes), and brief each owner. See docs/sweep.md."""

from sergas.sweep.runner import SweepReport, run_sweep
from sergas.sweep.scoring import AccountSignals, Score, score_account
from sergas.sweep.settings import SweepSettings, load_sweep_settings

__all__ = [
    "AccountSignals",
    "Score",
    "SweepReport",
    "SweepSettings",
    "load_sweep_settings",
    "run_sweep",
    "score_account",
]
