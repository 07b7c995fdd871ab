"""The study: Optuna's multi-objective search over a space (tinyml.tune.space), its trials
stored in an RDB (SQLite in the tune folder, or a shared PostgreSQL), resumable, with any
number of workers on any number of machines.

A trial: the candidate's untrained int8 model is compiled and budgeted against the board
first (tinyml.tune.cost); one that cannot fit, or is too slow, is recorded as infeasible and
never trained. The others train briefly (tinyml.tune.trial), pruned once a finished trial
that is no slower was better at the same epoch, and score int8 accuracy (or AUC) on the
validation split. Objectives: that score (maximised) and the estimated instructions
(minimised; milliseconds at the board's clock where the core is calibrated).

"Finished" means complete or pruned. The study stops at `trials` finished trials, counted
in the database: a worker claims a trial only while fewer are finished or running, and a
claim that lost a race is recorded as failed ("surplus") and not run. A trial whose worker
died (killed on this machine, or silent for the heartbeat's grace period on another) is
failed and queued again with the same values, so nothing is lost and nothing runs twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import socket
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tinyml.boards import Board, load_board
from tinyml.errors import TinymlError
from tinyml.tune import cost as costs
from tinyml.tune.space import SMALLEST, SPACES, candidate_config, starting_points, suggest
from tinyml.tune.trial import Hopeless, TuneData, train_candidate, untrained_tflite

HEARTBEAT_S = 20
GRACE_S = 120
PRUNE_MARGIN = 0.03      # a trial this far below a no-slower finished one at the same epoch stops
PRUNE_WARMUP = 2         # epochs before pruning is considered
TRIAL_EPOCHS = {"kws": 12, "vibration": 40}
FINISHED = ("COMPLETE", "PRUNED")
WORK = ".work"            # in the tune folder: each worker's scratch, removed when it ends


class Surplus(Exception):
    """A claimed trial beyond the study's count: recorded as failed, never run."""


@dataclass
class TuneSettings:
    app: str
    board: str
    base: object                          # a KwsTrainConfig / VibrationTrainConfig
    trials: int = 40
    max_latency_ms: float | None = None
    storage: str | None = None            # None: SQLite in run_dir
    run_dir: Path | None = None
    trial_epochs: int | None = None       # None: min(base.epochs, TRIAL_EPOCHS[app])
    sampler: str = "tpe"                  # "tpe" (multi-objective TPE) or "nsga2"
    check_qemu: bool = True               # measure the Pareto front on the emulated twin
    progress: bool = True

    @property
    def epochs(self) -> int:
        return self.trial_epochs or min(self.base.epochs, TRIAL_EPOCHS[self.app])

    def folder(self) -> Path:
        if self.run_dir is not None:
            return Path(self.run_dir)
        latency = f"-{self.max_latency_ms:g}ms" if self.max_latency_ms is not None else ""
        return Path("runs") / f"tune-{self.app}-{self.board}{latency}"

    def study_name(self) -> str:
        """The same command on every machine names the same study."""
        from tinyml.train.config import to_toml

        key = json.dumps([self.app, self.board, self.max_latency_ms, to_toml(self.base), SPACES[self.app],
                          self.epochs], sort_keys=True)
        return f"tinyml-{self.app}-{self.board}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


# ---------------------------------------------------------------- storage


def redact(url: str) -> str:
    """The URL without its password, for messages and files."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: shown as given, it holds no parsable password
        return url


def quiet_optuna() -> None:
    """Optuna's log lines and warnings about experimental features (heartbeats, multivariate
    TPE) would interleave with the progress display: the tuner reports trials itself."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def open_storage(url: str):
    """Optuna's RDB storage at `url` with heartbeats; one-line errors for a bad URL or a
    database that cannot be reached."""
    import optuna
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    quiet_optuna()
    shown = redact(url)
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise TinymlError(f"--storage {shown} is not a database URL: use postgresql://USER:PASSWORD@HOST:PORT/DB "
                          "or sqlite:///PATH") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise TinymlError(f"--storage {shown}: {parsed.get_backend_name()} is not supported; use "
                          "postgresql://USER:PASSWORD@HOST:PORT/DB or sqlite:///PATH")
    engine = {"connect_args": {"timeout": 60}} if parsed.get_backend_name() == "sqlite" else \
        {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        for attempt in range(5):
            try:
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3))
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                # Workers started together race to create Optuna's tables: the loser finds them made.
                if attempt == 4:
                    raise
                time.sleep(0.5 + random.random())
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
        raise TinymlError(f"cannot reach the study database {shown}: {reason}") from None
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ImportError) as exc:
        raise TinymlError(f"--storage {shown} cannot be used: {' '.join(str(exc).split())[:200]}") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
        raise TinymlError(f"the study database {shown} refused Optuna's tables: {reason}") from None


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{(Path(folder) / 'study.db').resolve()}"


def _sampler(name: str, trials: int, seed: int):
    """Either sampler learns from the trials' constraints (RAM, flash, latency over the board's:
    Trial.set_constraint) which candidates are infeasible."""
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=max(4, min(16, trials // 4)), seed=seed)
    return optuna.samplers.TPESampler(n_startup_trials=max(3, min(10, trials // 4)), multivariate=True, seed=seed)


def sampler_seed(settings: TuneSettings, created: bool) -> int:
    """The worker that creates the study draws with the config's seed, so a study on one machine
    proposes the same candidates run after run; a worker that joins (or resumes) it draws with
    a seed of its own, so that workers sharing a study do not propose the same candidates."""
    if created:
        return settings.base.seed
    return int(hashlib.sha256(f"{settings.base.seed}:{worker_id()}".encode()).hexdigest()[:8], 16)


def open_study(settings: TuneSettings, storage, create: bool = True):
    """(study, created): the settings' study, created (with the default model queued as its
    first candidate) by whichever worker gets there first."""
    import optuna

    quiet_optuna()
    name = settings.study_name()
    if create:
        sampler = _sampler(settings.sampler, settings.trials, sampler_seed(settings, True))
        try:
            study = optuna.create_study(storage=storage, study_name=name, sampler=sampler,
                                        directions=["maximize", "minimize"])
            study.set_user_attr("settings", _settings_record(settings))
            first, *others = starting_points(settings.app)
            study.enqueue_trial(first, user_attrs={"baseline": True})
            for params in others:
                study.enqueue_trial(params)
            return study, True
        except optuna.exceptions.DuplicatedStudyError:
            pass
    try:
        sampler = _sampler(settings.sampler, settings.trials, sampler_seed(settings, False))
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler), False
    except KeyError:
        raise TinymlError(f"no study {name} in {redact(str(storage.url))}") from None


def _settings_record(settings: TuneSettings) -> dict:
    from tinyml.train.config import to_toml

    return {"app": settings.app, "board": settings.board, "max_latency_ms": settings.max_latency_ms,
            "trials": settings.trials, "trial_epochs": settings.epochs, "base": to_toml(settings.base),
            "space": SPACES[settings.app]}


# ---------------------------------------------------------------- workers


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None when there is no such
    process: with the pid, it names a process even after pids wrap around."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _dead_here(worker: str) -> bool:
    """True for a worker of this machine that no longer runs (other machines: the heartbeat)."""
    host, pid, start = worker.rsplit(":", 2)
    return host == socket.gethostname() and _process_start(int(pid)) != start


def fail_dead_trials(study) -> list[int]:
    """Fails the running trials whose worker on this machine has died and queues their values
    again; the numbers of the trials failed."""
    import optuna
    from optuna.trial import TrialState

    storage = study._storage
    retry = storage.get_heartbeat_stale_trial_callback()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if not worker or not _dead_here(worker):
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                failed.append(trial.number)
                if retry is not None:
                    retry(study, storage.get_trial(trial._trial_id))
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker got there first
    optuna.storages.fail_stale_trials(study)  # other machines' workers, by heartbeat
    return failed


def counts(study) -> dict[str, int]:
    out = {"COMPLETE": 0, "PRUNED": 0, "RUNNING": 0, "FAIL": 0, "WAITING": 0}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def finished(study) -> int:
    c = counts(study)
    return c["COMPLETE"] + c["PRUNED"]


# ---------------------------------------------------------------- the objective


def pack(tflite: bytes) -> str:
    return base64.b64encode(zlib.compress(tflite, 9)).decode("ascii")


def unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


@dataclass
class Objective:
    settings: TuneSettings
    board: Board
    data: TuneData
    work: Path
    on_epoch: object = None           # callable(trial number, epoch, value) for the progress display
    errors_in_a_row: int = 0
    worker: str = field(default_factory=worker_id)

    def __call__(self, trial):
        import optuna
        from optuna.trial import TrialState

        study = trial.study
        trial.set_user_attr("worker", self.worker)
        fail_dead_trials(study)
        trials = study.get_trials(deepcopy=False)
        claimed = sorted(t.number for t in trials if t.state.name in FINISHED or t.state == TrialState.RUNNING)
        if trial.number in claimed and claimed.index(trial.number) >= self.settings.trials:
            trial.set_user_attr("status", "surplus")
            study.stop()
            raise Surplus(f"trial {trial.number}: the study already has {self.settings.trials} trials")
        params = suggest(trial, self.settings.app)
        start = time.monotonic()
        same = next((t for t in trials if t.params == params and t.number != trial.number
                     and t.state.name in FINISHED and t.user_attrs.get("status") in ("complete", "infeasible",
                                                                                      "pruned")), None)
        if same is not None:
            return self._copy(trial, same)
        try:
            values = self._evaluate(trial, params)
        except Hopeless as exc:
            trial.set_user_attr("status", "pruned")
            trial.set_user_attr("pruned_at", str(exc))
            trial.set_user_attr("seconds", round(time.monotonic() - start, 1))
            raise optuna.TrialPruned(str(exc)) from None
        except TinymlError as exc:
            trial.set_user_attr("status", "error")
            trial.set_user_attr("error", str(exc))
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= 3:
                study.stop()
            raise
        self.errors_in_a_row = 0
        trial.set_user_attr("seconds", round(time.monotonic() - start, 1))
        return values

    def _copy(self, trial, same):
        """A candidate already evaluated: its results, not a second training."""
        import optuna

        for key, value in same.user_attrs.items():
            if key not in ("worker", "baseline"):
                trial.set_user_attr(key, value)
        if "cost" in same.user_attrs:
            self._constrain(trial, same.user_attrs["cost"])
        trial.set_user_attr("same_as", same.number)
        if same.state.name == "PRUNED":
            raise optuna.TrialPruned(f"same as trial {same.number}")
        return tuple(same.values)

    def _evaluate(self, trial, params: dict):
        s, board = self.settings, self.board
        cfg = candidate_config(s.base, params)
        spec = self.data.spec(cfg)
        work = self.work / f"trial-{trial.number}"
        quiet = s.progress
        before = costs.candidate_cost(s.app, untrained_tflite(s.app, params, s.base, self.data.classes, quiet, spec),
                                      spec, board, work / "untrained", s.max_latency_ms)
        trial.set_user_attr("untrained_cost", before.as_dict())
        if not before.fits:
            return self._infeasible(trial, before)
        rivals = [(t.user_attrs["curve"], t.values[1]) for t in trial.study.get_trials(deepcopy=False)
                  if t.state.name == "COMPLETE" and t.user_attrs.get("status") == "complete"
                  and "curve" in t.user_attrs]

        def hopeless(epoch: int, value: float) -> bool:
            if self.on_epoch is not None:
                self.on_epoch(trial.number, epoch, value)
            if epoch < PRUNE_WARMUP:
                return False
            return any(instr <= before.instructions and len(curve) >= epoch
                       and curve[epoch - 1] >= value + PRUNE_MARGIN for curve, instr in rivals)

        scored = train_candidate(s.app, cfg, self.data, s.epochs, hopeless, quiet)
        after = costs.candidate_cost(s.app, scored.tflite, spec, board, work / "trained", s.max_latency_ms)
        for key, value in (("curve", scored.curve), ("epochs", scored.epochs), ("val_metric", scored.val_metric),
                           ("test_metric", scored.test_metric), ("cost", after.as_dict()),
                           ("tflite", pack(scored.tflite))):
            trial.set_user_attr(key, value)
        if not after.fits:
            return self._infeasible(trial, after)
        self._constrain(trial, after.as_dict())
        trial.set_user_attr("status", "complete")
        return scored.val_metric, float(after.instructions)

    def _constrain(self, trial, cost: dict) -> None:
        """What the candidate needs beyond the board's RAM, flash and latency (<= 0: within)."""
        b = self.board
        trial.set_constraint("ram", cost["ram_bytes"] - b.ram_bytes)
        trial.set_constraint("flash", cost["flash_bytes"] - b.flash_bytes)
        if self.settings.max_latency_ms is not None and cost["latency_ms"] is not None:
            trial.set_constraint("latency", cost["latency_ms"] - self.settings.max_latency_ms)

    def _infeasible(self, trial, cost: costs.Cost):
        self._constrain(trial, cost.as_dict())
        trial.set_user_attr("cost", cost.as_dict())
        trial.set_user_attr("status", "infeasible")
        trial.set_user_attr("why", "; ".join(cost.problems))
        return 0.0, float(cost.instructions)


# ---------------------------------------------------------------- the run


def check_possible(settings: TuneSettings, board: Board, classes: int, work: Path) -> costs.Cost:
    """Refuses, in one line, a board or a latency budget that not even the space's smallest
    candidate meets."""
    if settings.max_latency_ms is not None and board.core not in costs.calibrated_cores():
        raise TinymlError(f"--max-latency-ms needs an instruction estimate for {board.id}'s core "
                          f"({board.core}); calibrated: {', '.join(costs.calibrated_cores())}. Leave it out "
                          "to rank candidates by Cortex-M4 instructions")
    if settings.max_latency_ms is not None and settings.max_latency_ms <= 0:
        raise TinymlError(f"--max-latency-ms must be positive, not {settings.max_latency_ms:g}")
    params = SMALLEST[settings.app]
    tflite = untrained_tflite(settings.app, params, settings.base, classes, settings.progress)
    cost = costs.candidate_cost(settings.app, tflite, candidate_config(settings.base, params).frontend(),
                                board, work / "smallest", settings.max_latency_ms)
    if cost.fits:
        return cost
    if any(p.startswith("latency") for p in cost.problems) and len(cost.problems) == 1:
        raise TinymlError(f"--max-latency-ms {settings.max_latency_ms:g} is impossible on {board.id}: the "
                          f"fastest {settings.app} candidate takes {cost.latency_ms:.3g} ms "
                          f"({cost.instructions:,} instructions at {board.clock_hz / 1e6:g} MHz)")
    raise TinymlError(f"no {settings.app} candidate fits {board.id}: even the smallest needs "
                      f"{'; '.join(cost.problems)}")


@dataclass
class TuneResult:
    folder: Path
    study_name: str
    rows: list[dict]
    pareto: list[dict]
    ran: int                  # trials this worker ran
    seconds: float
    report: Path | None = None
    plot: Path | None = None


def run_tune(settings: TuneSettings) -> TuneResult:
    """Runs (or continues, or joins) the study until it has `settings.trials` finished trials,
    then writes the report (report.json, pareto.png) in the tune folder."""
    from tinyml.tune import report

    start = time.monotonic()
    if settings.app not in SPACES:
        raise TinymlError(f"unknown app {settings.app!r}: tune kws or vibration")
    if settings.trials < 1:
        raise TinymlError(f"--trials must be at least 1, not {settings.trials}")
    board = load_board(settings.board)
    folder = settings.folder()
    _check_folder(folder, settings)
    folder.mkdir(parents=True, exist_ok=True)
    storage = open_storage(settings.storage or sqlite_url(folder))
    _remove_dead_work(folder / WORK)
    with tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-", dir=_mkdir(folder / WORK)) as tmp:
        work = Path(tmp)
        check_possible(settings, board, 12, work)  # kws: the 12 classes of every keyword set here
        data = TuneData.load(settings.app, settings.base, settings.progress)
        study, _ = open_study(settings, storage)
        _write_record(folder, settings)
        fail_dead_trials(study)
        ran = _optimize(study, settings, board, data, work) if finished(study) < settings.trials else 0
        rows = report.rows(study)
        pareto = report.pareto_front(rows)
        if settings.check_qemu:
            report.check_on_emulator(pareto, board, work / "qemu", folder, settings.progress)
    result = TuneResult(folder, study.study_name, rows, pareto, ran, round(time.monotonic() - start, 1))
    result.report = report.write(folder, settings, board, rows, pareto)
    result.plot = report.plot(folder, settings, board, rows, pareto)
    return result


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_dead_work(work: Path) -> None:
    """Scratch folders (compiled candidates) of workers here that were killed: PID-named."""
    import shutil

    for folder in work.glob("*-*") if work.is_dir() else ():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and _process_start(int(pid)) is None:
            shutil.rmtree(folder, ignore_errors=True)


def _check_folder(folder: Path, settings: TuneSettings) -> None:
    record = folder / "tune.json"
    if not record.is_file():
        return
    try:
        old = json.loads(record.read_text())
    except ValueError:
        return
    mine = _settings_record(settings)
    keys = ("app", "board", "max_latency_ms", "base", "trial_epochs")
    if any(old.get(k) != mine[k] for k in keys):
        raise TinymlError(f"{folder} holds a tune of {old.get('app')} on {old.get('board')} with other settings; "
                          "use another --run-dir, or the same settings to continue it")


def _write_record(folder: Path, settings: TuneSettings) -> None:
    from tinyml.tools.fs import atomic_file

    record = {**_settings_record(settings), "study": settings.study_name(),
              "storage": redact(settings.storage) if settings.storage else "study.db"}
    with atomic_file(folder / "tune.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def _optimize(study, settings: TuneSettings, board: Board, data: TuneData, work: Path) -> int:
    """Runs trials until the study has enough; returns how many this worker finished."""
    from tinyml.tune.progress import StudyProgress

    ran = 0
    with StudyProgress(settings, study) as progress:
        objective = Objective(settings, board, data, work, on_epoch=progress.epoch)

        def after_trial(study, trial) -> None:
            nonlocal ran
            if trial.state.name in FINISHED:
                ran += 1
            progress.trial_done(trial)
            c = counts(study)
            if c["COMPLETE"] + c["PRUNED"] + c["RUNNING"] >= settings.trials or objective.errors_in_a_row >= 3:
                study.stop()

        study.optimize(objective, callbacks=[after_trial], catch=(Surplus, TinymlError))
    if objective.errors_in_a_row >= 3:
        last = next((t.user_attrs.get("error") for t in reversed(study.get_trials(deepcopy=False))
                     if t.user_attrs.get("status") == "error"), "")
        raise TinymlError(f"3 trials in a row failed; the last: {last}")
    return ran
