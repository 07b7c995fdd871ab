"""What a person watching `tinyml tune` sees: a bar for the study (its finished trials, by every
worker), a bar for the running trial's epochs, and one line per trial."""

from __future__ import annotations

import sys


def trial_line(trial, app: str) -> str:
    """One line: number, state, values, the candidate."""
    attrs = trial.user_attrs
    status = attrs.get("status", trial.state.name.lower())
    params = " ".join(f"{k}={v}" for k, v in trial.params.items())
    metric = "acc" if app == "kws" else "AUC"
    cost = attrs.get("cost") or attrs.get("untrained_cost") or {}
    where = f"{cost.get('instructions', 0):,} instr, RAM {cost.get('ram_bytes', 0):,} B" if cost else ""
    if status == "complete":
        what = f"{metric} {attrs['val_metric']:.4f}, {where}"
    elif status == "infeasible":
        what = f"does not fit: {attrs.get('why', '')}"
    elif status == "pruned":
        what = f"pruned ({attrs.get('pruned_at', '')})"
    elif status == "error":
        what = f"error: {attrs.get('error', '')}"
    else:
        what = status
    same = f" (same as #{attrs['same_as']})" if "same_as" in attrs else ""
    return f"trial {trial.number:>3} {status:<10} {what}{same}  [{params}]"


class StudyProgress:
    """tqdm bars on a terminal (stderr), plain lines otherwise; nothing when progress is off."""

    def __init__(self, settings, study):
        self.settings, self.study = settings, study
        self.bar = self.epochs = None

    def __enter__(self):
        from tinyml.tune.study import finished

        if self.settings.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=self.settings.trials, initial=min(finished(self.study), self.settings.trials),
                            desc=f"tune {self.settings.app} on {self.settings.board}", unit="trial",
                            file=sys.stderr, dynamic_ncols=True)
        return self

    def __exit__(self, *exc):
        for bar in (self.epochs, self.bar):
            if bar is not None:
                bar.close()

    def epoch(self, number: int, epoch: int, value: float) -> None:
        if self.bar is None or not sys.stderr.isatty():  # in a log, the trial's line says enough
            return
        from tqdm import tqdm

        if self.epochs is None or getattr(self.epochs, "trial", None) != number:
            if self.epochs is not None:
                self.epochs.close()
            self.epochs = tqdm(total=self.settings.epochs, desc=f"  trial {number}", unit="epoch",
                               leave=False, file=sys.stderr, position=1, dynamic_ncols=True)
            self.epochs.trial = number
        self.epochs.update(1)
        self.epochs.set_postfix_str(f"val {value:.4f}")

    def trial_done(self, trial) -> None:
        from tinyml.tune.study import finished

        if self.epochs is not None:
            self.epochs.close()
            self.epochs = None
        if self.bar is None:
            return
        if trial.user_attrs.get("status") != "surplus":
            self.bar.write(trial_line(trial, self.settings.app))
        self.bar.n = min(finished(self.study), self.settings.trials)
        self.bar.refresh()
