"""One study, many workers: opening the database, creating the study, seeding each trial.

Any number of ``cnnlab tune`` processes (on any number of machines) may run the same
command against one database. What makes that safe (docs/distributed.md):

- :func:`open_storage` opens Optuna's RDB storage and retries the races of a first start
  (two processes creating the tables of a new SQLite file at once: "table already exists",
  a duplicate ``alembic_version`` row), and names the missing driver of a PostgreSQL URL.
- :func:`create_or_load` creates the study or loads the one another worker just created.
- Every running trial beats (Optuna's RDB heartbeat); a trial whose worker was killed stops
  beating and is marked FAIL by the next worker that starts a trial after the grace period
  (:data:`GRACE_BEATS` heartbeats), whose log says so (:func:`failed_trial_line`).
- :func:`trial_seeded_sampler` draws trial ``n``'s values from a sampler seeded by
  ``(seed, n)``. Optuna numbers trials atomically in the database, so two workers started
  with the same ``--seed`` never share a random stream (and never repeat each other's
  trials), while a study run by one worker stays reproducible.
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
import time
import warnings
from typing import Any, Callable, Iterator, Sequence

from cnnlab.errors import UsageError
from cnnlab.extras import missing_module
from cnnlab.seeds import TRIAL, derive_seed

__all__ = ["open_storage", "create_or_load", "mask_url", "trial_seeded_sampler", "trial_seed",
           "lost_database", "database_guard",
           "DRIVER_EXTRAS", "resolve_driver", "check_driver", "HEARTBEAT_SECONDS", "GRACE_BEATS"]

# A trial beats every HEARTBEAT_SECONDS; after GRACE_BEATS missed beats it counts as dead.
HEARTBEAT_SECONDS = 60.0
GRACE_BEATS = 3
# dialect -> (the module SQLAlchemy needs, the pip requirement that brings it)
DRIVER_EXTRAS = {"postgresql": ("psycopg", "cnnlab[distributed]")}  # psycopg 3
# A first start of several workers on a new database races for a second or two at most.
OPEN_ATTEMPTS = 8
SQLITE_BUSY_SECONDS = 60  # a worker waits this long for another worker's write to finish


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for output and error lines).

    >>> mask_url("postgresql://me:secret@db/optuna")
    'postgresql://me:***@db/optuna'
    """
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing that parses as a password to hide
        return url


def _dialect(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).get_backend_name()
    except Exception:
        return None


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def resolve_driver(url: str) -> str:
    """``url`` with its database driver named; UsageError naming the extra if it is missing.

    A plain ``postgresql://`` URL is opened through psycopg 3 (the ``distributed`` extra)
    as ``postgresql+psycopg://``, whatever SQLAlchemy's default for that dialect. A URL that
    names its driver (``postgresql+psycopg2://``, ``+pg8000``) keeps it.

    >>> resolve_driver("sqlite:///study.db")  # sqlite3 ships with Python
    'sqlite:///study.db'
    >>> resolve_driver("postgresql://me@db/optuna")
    'postgresql+psycopg://me@db/optuna'
    """
    dialect = _dialect(url)
    if dialect not in DRIVER_EXTRAS:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    module, extra = DRIVER_EXTRAS[dialect]
    named = parsed.get_driver_name() if "+" in parsed.drivername else None
    if named is None and _importable(module):
        return parsed.set(drivername=f"{dialect}+{module}").render_as_string(hide_password=False)
    if named is not None and _importable(named):  # +psycopg2, +pg8000: module named as the driver
        return url
    if named and named != module:
        raise UsageError(f"--storage {mask_url(url)}: the {dialect} driver {named} is not "
                         f"installed; pip install {named}, or use {dialect}:// with "
                         f"pip install '{extra}'")
    raise UsageError(f"--storage {mask_url(url)}: the {dialect} driver (psycopg 3) is not "
                     f"installed; pip install '{extra}'")


def check_driver(url: str) -> None:
    """UsageError naming the extra to install when ``url``'s database driver is missing."""
    resolve_driver(url)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _is_start_race(exc: BaseException) -> bool:
    """Errors of two workers creating a new database's tables at the same moment."""
    text = str(exc).lower()
    return ("already exists" in text or "alembic_version" in text or "unique constraint" in text
            or "database is locked" in text or "duplicate key" in text)


def lost_database(exc: BaseException) -> BaseException | None:
    """The database error behind ``exc`` (itself, or what it was raised from or while
    handling), or None. Optuna ends a trial whose storage vanished with its own
    ``StorageInternalError``, or with an ``UnboundLocalError`` raised while it handled the
    connection error (optuna 5.0, ``_run_trial``): both chains lead to SQLAlchemy's error."""
    import sqlalchemy.exc

    for link in _chain(exc):
        if isinstance(link, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return link
        if isinstance(link, sqlalchemy.exc.DBAPIError) and link.connection_invalidated:
            return link
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


@contextlib.contextmanager
def database_guard(shown_url: str) -> Iterator[None]:
    """Turn a lost database connection inside the block into one UsageError line.

    A dead server (killed, restarted, the network gone) fails the worker's next query:
    the heartbeat thread's, whose traceback this guard keeps off the terminal, or the
    trial's own, which ends the block with ``error: --storage URL: lost the connection to
    the database (...)``. Trials the database recorded before stay in it.
    """
    previous = threading.excepthook

    def hook(args) -> None:  # the heartbeat thread's failure: the main thread meets it next
        if args.exc_value is None or lost_database(args.exc_value) is None:
            previous(args)

    threading.excepthook = hook
    try:
        yield
    except Exception as exc:
        cause = lost_database(exc)
        if cause is None:
            raise
        raise UsageError(f"--storage {shown_url}: lost the connection to the database "
                         f"({_first_line(cause)}); the trials it recorded are kept: run the "
                         f"same command to go on once the server is back") from None
    finally:
        threading.excepthook = previous


def failed_trial_line(say: Callable[[str], None]) -> Callable:
    """Optuna's failed-trial callback: log the trial a dead worker left behind."""

    def callback(study, trial) -> None:
        host = trial.user_attrs.get("host", "?")
        pid = trial.user_attrs.get("pid", "?")
        say(f"trial {trial.number}: marked failed, its worker (host {host}, pid {pid}) stopped "
            f"beating; the study goes on")

    return callback


def open_storage(url: str, heartbeat: float = HEARTBEAT_SECONDS,
                 say: Callable[[str], None] | None = None):
    """An Optuna RDBStorage for ``url`` with heartbeats; UsageError when it cannot be opened.

    heartbeat: seconds between a running trial's beats; a trial silent for
    ``GRACE_BEATS * heartbeat`` seconds is marked FAIL by the next worker.
    """
    import optuna
    import sqlalchemy.exc

    shown = mask_url(url)  # as the user wrote it
    url = resolve_driver(url)
    engine_kwargs: dict[str, Any] = {}
    if _dialect(url) == "sqlite":
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
    elif _dialect(url) is not None:
        engine_kwargs["pool_pre_ping"] = True  # a server restart does not kill the worker
    callback = {}
    if say is not None:  # Optuna 4.9 renamed failed_trial_callback
        import inspect

        names = inspect.signature(optuna.storages.RDBStorage).parameters
        key = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in names
               else "failed_trial_callback")
        callback[key] = failed_trial_line(say)
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=engine_kwargs, heartbeat_interval=max(1, round(heartbeat)),
                    grace_period=max(2, round(GRACE_BEATS * heartbeat)), **callback)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            if attempt + 1 < OPEN_ATTEMPTS and _is_start_race(exc):
                time.sleep(0.1 * 2 ** attempt * (1 + random.random()))
                continue
            raise UsageError(f"--storage {shown}: cannot open the database "
                             f"({_first_line(exc)}); give a database URL such as "
                             f"sqlite:///study.db") from None
        except Exception as exc:  # bad URL, unknown dialect: SQLAlchemy raises many classes
            if missing_module(exc):  # a driver an extra installs: the CLI names the extra
                raise
            raise UsageError(f"--storage {shown}: cannot open the database "
                             f"({_first_line(exc)}); give a database URL such as "
                             f"sqlite:///study.db") from None
    raise AssertionError("unreachable")


def create_or_load(storage, name: str, direction: str, sampler, pruner):
    """``optuna.create_study(load_if_exists=True)``, retried while another worker creates it."""
    import optuna
    import sqlalchemy.exc

    for attempt in range(OPEN_ATTEMPTS):
        try:
            return optuna.create_study(storage=storage, study_name=name, direction=direction,
                                       load_if_exists=True, sampler=sampler, pruner=pruner)
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.DuplicatedStudyError, KeyError):
            # created between our look and our insert, or not yet visible to our load
            if attempt + 1 == OPEN_ATTEMPTS:
                raise
            time.sleep(0.1 * 2 ** attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def trial_seed(seed: int, number: int) -> int:
    """Seed of trial ``number``'s sampler in a study tuned with ``seed``.

    >>> trial_seed(0, 4) != trial_seed(0, 5)
    True
    """
    return derive_seed(seed, TRIAL, number, bits=32)


def trial_seeded_sampler(make: Callable[[int], Any], seed: int):
    """A sampler that builds ``make(trial_seed(seed, trial.number))`` for every trial.

    make: seed -> an Optuna sampler (TPE, random, grid). Such a sampler reads the study's
    history from the storage, so a fresh one per trial loses nothing but its RNG state,
    which is exactly what must differ between workers.
    """
    return _sampler_class()(make, seed)


@functools.cache
def _sampler_class():
    import optuna

    class TrialSeededSampler(optuna.samplers.BaseSampler):
        """Optuna's sampler interface, forwarded to the sampler of the current trial."""

        def __init__(self, make: Callable[[int], Any], seed: int) -> None:
            self._make, self._seed = make, seed
            self._inner = make(trial_seed(seed, 0))

        def before_trial(self, study, trial) -> None:
            self._inner = self._make(trial_seed(self._seed, trial.number))
            self._inner.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._inner.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._inner.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values: Sequence[float] | None) -> None:
            self._inner.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            self._inner.reseed_rng()

    return TrialSeededSampler
