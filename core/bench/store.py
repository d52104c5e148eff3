"""Benchmark history: one SQLite file in the user's data directory.

``runs`` holds one row per completed benchmark (cancelled and failed ones are never stored):
model, backend, device, dtype, the hardware fingerprint and description, profile, every
headline metric as a column (for queries), the prediction it was compared with, the whole
result JSON and the raw telemetry summary (:func:`core.telemetry.summary.summarize` over the
measured windows), a UTC timestamp and the schema version. ``meta`` holds the schema version of
the file.

**Calibration** — for one machine (fingerprint), device and optionally backend, the median of
``measured ÷ predicted`` sustained decode tokens/s over the runs whose windows lasted at least
10 s (short smoke runs do not count). The prediction stored with each run is the uncalibrated
one, so calibrations never compound. Later analyses on the same machine pass
:attr:`Calibration.factor` to :func:`core.analysis.analyze.analyze` (``calibration=``) and show
:attr:`Calibration.label` ("calibrated ×0.83 from 3 runs on this machine").

**Measured values** — :meth:`BenchStore.measured_for` gives the latest run of a model (on this
machine, if asked), for catalog rows to show marked as measured, and its average power for
``analyze(measured_w=...)`` (the thermal class from measurement).

Every method opens its own short connection, so any thread may call it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from core.bench.errors import BenchError
from core.bench.runner import BenchResult
from core.constants import VALID_ENERGY_WINDOW_S

SCHEMA_VERSION = 1
"""Version of the tables below; a file from a newer version is refused, not rewritten."""

FILE_NAME = "bench.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    device TEXT NOT NULL,
    dtype TEXT,
    fingerprint TEXT NOT NULL,
    hardware TEXT NOT NULL,
    profile TEXT,
    prompt_tokens INTEGER,
    new_tokens INTEGER,
    repeat INTEGER,
    ttft_s REAL,
    prefill_tokens_per_s REAL,
    decode_tokens_per_s REAL,
    decode_tokens_per_s_sustained REAL,
    embeddings_per_s REAL,
    energy_method TEXT,
    gross_joules_per_token REAL,
    net_joules_per_token REAL,
    energy_uncertainty REAL,
    window_s REAL,
    window_valid INTEGER,
    idle_power_w REAL,
    avg_power_w REAL,
    peak_power_w REAL,
    baseline_temp_c REAL,
    avg_temp_c REAL,
    peak_temp_c REAL,
    throttled_fraction REAL,
    predicted_decode_tokens_per_s REAL,
    predicted_joules_per_token REAL,
    predicted_power_w REAL,
    measured_over_predicted REAL,
    result_json TEXT NOT NULL,
    telemetry_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_machine ON runs (fingerprint, device, backend);
CREATE INDEX IF NOT EXISTS runs_model ON runs (model COLLATE NOCASE);
"""

_COLUMNS = (
    "schema_version",
    "created_at",
    "model",
    "backend",
    "device",
    "dtype",
    "fingerprint",
    "hardware",
    "profile",
    "prompt_tokens",
    "new_tokens",
    "repeat",
    "ttft_s",
    "prefill_tokens_per_s",
    "decode_tokens_per_s",
    "decode_tokens_per_s_sustained",
    "embeddings_per_s",
    "energy_method",
    "gross_joules_per_token",
    "net_joules_per_token",
    "energy_uncertainty",
    "window_s",
    "window_valid",
    "idle_power_w",
    "avg_power_w",
    "peak_power_w",
    "baseline_temp_c",
    "avg_temp_c",
    "peak_temp_c",
    "throttled_fraction",
    "predicted_decode_tokens_per_s",
    "predicted_joules_per_token",
    "predicted_power_w",
    "measured_over_predicted",
    "result_json",
    "telemetry_json",
)


def default_path() -> Path:
    """``<user data dir>/bench.sqlite3``."""
    from core.paths import user_data_dir

    return user_data_dir() / FILE_NAME


@dataclass(frozen=True)
class HistoryEntry:
    """One stored benchmark.

    Attributes mirror the ``runs`` columns; ``result`` is the whole result JSON (the
    ``bench --json`` document) and ``telemetry`` the raw telemetry summary.
    """

    id: int
    created_at: str
    model: str
    backend: str
    device: str
    dtype: str | None
    fingerprint: str
    hardware: str
    profile: str | None
    ttft_s: float | None
    prefill_tokens_per_s: float | None
    decode_tokens_per_s: float | None
    decode_tokens_per_s_sustained: float | None
    embeddings_per_s: float | None
    energy_method: str | None
    gross_joules_per_token: float | None
    net_joules_per_token: float | None
    energy_uncertainty: float | None
    window_s: float | None
    avg_power_w: float | None
    peak_power_w: float | None
    avg_temp_c: float | None
    peak_temp_c: float | None
    throttled_fraction: float | None
    predicted_decode_tokens_per_s: float | None
    measured_over_predicted: float | None
    result: dict[str, Any]
    telemetry: dict[str, Any]

    @property
    def label(self) -> str:
        """``"measured 37.2 tok/s (transformers, cuda:0, bfloat16)"``."""
        rate = self.decode_tokens_per_s_sustained or self.decode_tokens_per_s
        what = f"{rate:.1f} tok/s" if rate is not None else "no token rate"
        setup = ", ".join(p for p in (self.backend, self.device, self.dtype) if p)
        return f"measured {what} ({setup})"

    def to_json(self) -> dict[str, Any]:
        """A row of ``bench history --json``."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "dtype": self.dtype,
            "profile": self.profile,
            "hardware": {"fingerprint": self.fingerprint, "description": self.hardware},
            "ttft_s": self.ttft_s,
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "decode_tokens_per_s_sustained": self.decode_tokens_per_s_sustained,
            "embeddings_per_s": self.embeddings_per_s,
            "energy": {
                "method": self.energy_method,
                "gross_joules_per_token": self.gross_joules_per_token,
                "net_joules_per_token": self.net_joules_per_token,
                "uncertainty": self.energy_uncertainty,
            },
            "window_s": self.window_s,
            "avg_power_w": self.avg_power_w,
            "peak_power_w": self.peak_power_w,
            "avg_temp_c": self.avg_temp_c,
            "peak_temp_c": self.peak_temp_c,
            "throttled_fraction": self.throttled_fraction,
            "predicted_decode_tokens_per_s": self.predicted_decode_tokens_per_s,
            "measured_over_predicted": self.measured_over_predicted,
        }


@dataclass(frozen=True)
class Calibration:
    """This machine's measured ÷ predicted decode speed.

    Attributes:
        factor: Median ratio (pass to ``analyze(calibration=...)``).
        runs: Runs it is the median of.
        low / high: Smallest and largest ratio.
        fingerprint / device / backend: What it applies to (backend None: all backends).
    """

    factor: float
    runs: int
    low: float
    high: float
    fingerprint: str
    device: str
    backend: str | None

    @property
    def label(self) -> str:
        """``"calibrated ×0.83 from 3 runs on this machine"``.

        Example:
            >>> Calibration(0.834, 3, 0.8, 0.9, "f", "cpu", None).label
            'calibrated ×0.83 from 3 runs on this machine'
        """
        runs = "1 run" if self.runs == 1 else f"{self.runs} runs"
        return f"calibrated ×{self.factor:.2f} from {runs} on this machine"


def _columns(result: BenchResult) -> dict[str, Any]:
    energy, temp, power, pred = result.energy, result.temperature, result.power, result.predicted
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": result.started_at,
        "model": result.model,
        "backend": result.backend,
        "device": result.device,
        "dtype": result.dtype,
        "fingerprint": result.fingerprint,
        "hardware": result.hardware,
        "profile": result.spec.profile,
        "prompt_tokens": result.spec.prompt_tokens,
        "new_tokens": result.spec.new_tokens,
        "repeat": result.spec.repeat,
        "ttft_s": result.ttft_s,
        "prefill_tokens_per_s": result.prefill_tokens_per_s,
        "decode_tokens_per_s": result.decode_tokens_per_s,
        "decode_tokens_per_s_sustained": result.decode_tokens_per_s_sustained,
        "embeddings_per_s": result.embeddings_per_s,
        "energy_method": energy.method if energy else None,
        "gross_joules_per_token": energy.gross_joules_per_token if energy else None,
        "net_joules_per_token": energy.net_joules_per_token if energy else None,
        "energy_uncertainty": energy.uncertainty if energy else None,
        "window_s": energy.window_s if energy else None,
        "window_valid": int(bool(energy and energy.window_valid)),
        "idle_power_w": power.idle_w if power else None,
        "avg_power_w": power.avg_w if power else None,
        "peak_power_w": power.peak_w if power else None,
        "baseline_temp_c": temp.baseline_c if temp else None,
        "avg_temp_c": temp.avg_c if temp else None,
        "peak_temp_c": temp.peak_c if temp else None,
        "throttled_fraction": result.throttled_fraction,
        "predicted_decode_tokens_per_s": pred.decode_tokens_per_s if pred else None,
        "predicted_joules_per_token": pred.joules_per_token if pred else None,
        "predicted_power_w": pred.power_w if pred else None,
        "measured_over_predicted": result.measured_over_predicted,
        "result_json": json.dumps(result.to_json()),
        "telemetry_json": json.dumps(result.telemetry_summary),
    }


def _entry(row: sqlite3.Row) -> HistoryEntry:
    def load(text: str) -> dict[str, Any]:
        try:
            value = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            return {}
        return value if isinstance(value, dict) else {}

    return HistoryEntry(
        id=row["id"],
        created_at=row["created_at"],
        model=row["model"],
        backend=row["backend"],
        device=row["device"],
        dtype=row["dtype"],
        fingerprint=row["fingerprint"],
        hardware=row["hardware"],
        profile=row["profile"],
        ttft_s=row["ttft_s"],
        prefill_tokens_per_s=row["prefill_tokens_per_s"],
        decode_tokens_per_s=row["decode_tokens_per_s"],
        decode_tokens_per_s_sustained=row["decode_tokens_per_s_sustained"],
        embeddings_per_s=row["embeddings_per_s"],
        energy_method=row["energy_method"],
        gross_joules_per_token=row["gross_joules_per_token"],
        net_joules_per_token=row["net_joules_per_token"],
        energy_uncertainty=row["energy_uncertainty"],
        window_s=row["window_s"],
        avg_power_w=row["avg_power_w"],
        peak_power_w=row["peak_power_w"],
        avg_temp_c=row["avg_temp_c"],
        peak_temp_c=row["peak_temp_c"],
        throttled_fraction=row["throttled_fraction"],
        predicted_decode_tokens_per_s=row["predicted_decode_tokens_per_s"],
        measured_over_predicted=row["measured_over_predicted"],
        result=load(row["result_json"]),
        telemetry=load(row["telemetry_json"]),
    )


def _device_clause(device: str | None) -> tuple[str, list[Any]]:
    """``cuda`` matches every ``cuda:N``; anything else matches exactly."""
    if device is None:
        return "", []
    if device == "cuda":
        return " AND device LIKE 'cuda%'", []
    return " AND device = ?", [device]


class BenchStore:
    """The benchmark history.

    Args:
        path: The SQLite file (default :func:`default_path`); created on first write.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not create and not self.path.exists():
            yield None
            return
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
                conn.row_factory = sqlite3.Row
                with conn:
                    conn.executescript(_SCHEMA)
                    row = conn.execute(
                        "SELECT value FROM meta WHERE key = 'schema_version'"
                    ).fetchone()
                    if row is None:
                        conn.execute(
                            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),),
                        )
                    elif int(row["value"]) > SCHEMA_VERSION:
                        raise BenchError(
                            f"{self.path}: benchmark history from a newer Thermal Scout "
                            f"(schema {row['value']} > {SCHEMA_VERSION}); upgrade to read it"
                        )
                with conn:
                    yield conn
        except sqlite3.DatabaseError as exc:
            raise BenchError(
                f"{self.path}: cannot use the benchmark history ({exc}); move the file away to "
                "start a new one"
            ) from None
        except OSError as exc:
            raise BenchError(f"{self.path}: cannot open the benchmark history ({exc})") from None

    def add(self, result: BenchResult) -> int:
        """Store a completed result; returns its id.

        Raises:
            BenchError: The result was cancelled or failed (those are never stored), or the
                file cannot be written.
        """
        if not result.ok:
            raise BenchError(f"a {result.status} benchmark is not stored")
        values = _columns(result)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._connect(create=True) as conn:
            assert conn is not None
            cursor = conn.execute(
                f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                [values[c] for c in _COLUMNS],
            )
            run_id = cursor.lastrowid
            assert run_id is not None
            stored = result.to_json()
            stored["run_id"] = run_id
            conn.execute(
                "UPDATE runs SET result_json = ? WHERE id = ?", (json.dumps(stored), run_id)
            )
        return int(run_id)

    def history(
        self,
        *,
        model: str | None = None,
        fingerprint: str | None = None,
        device: str | None = None,
        limit: int | None = 100,
    ) -> list[HistoryEntry]:
        """Stored runs, newest first, optionally for one model (case-insensitive), machine or
        device."""
        sql = "SELECT * FROM runs WHERE 1 = 1"
        args: list[Any] = []
        if model is not None:
            sql += " AND model = ? COLLATE NOCASE"
            args.append(model)
        if fingerprint is not None:
            sql += " AND fingerprint = ?"
            args.append(fingerprint)
        clause, extra = _device_clause(device)
        sql += clause
        args.extend(extra)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            return [_entry(row) for row in conn.execute(sql, args)]

    def get(self, run_id: int) -> HistoryEntry | None:
        """One stored run by id."""
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            return None if row is None else _entry(row)

    def calibration_for(
        self, fingerprint: str, device: str, backend: str | None = None
    ) -> Calibration | None:
        """This machine's calibration for ``device`` (``cpu``, ``cuda`` or ``cuda:N``), or None
        before any run with a window of at least 10 s and a prediction."""
        sql = (
            "SELECT measured_over_predicted FROM runs WHERE fingerprint = ?"
            " AND measured_over_predicted IS NOT NULL AND window_s >= ?"
        )
        args: list[Any] = [fingerprint, VALID_ENERGY_WINDOW_S]
        clause, extra = _device_clause(device)
        sql += clause
        args.extend(extra)
        if backend is not None:
            sql += " AND backend = ?"
            args.append(backend)
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            ratios = [float(row[0]) for row in conn.execute(sql, args) if row[0] > 0]
        if not ratios:
            return None
        return Calibration(
            factor=median(ratios),
            runs=len(ratios),
            low=min(ratios),
            high=max(ratios),
            fingerprint=fingerprint,
            device=device,
            backend=backend,
        )

    def measured_for(
        self, model_id: str, *, fingerprint: str | None = None, device: str | None = None
    ) -> HistoryEntry | None:
        """The latest stored run of ``model_id`` (case-insensitive), or None."""
        runs = self.history(model=model_id, fingerprint=fingerprint, device=device, limit=1)
        return runs[0] if runs else None

    def measured_models(self, *, fingerprint: str | None = None) -> dict[str, HistoryEntry]:
        """The latest run of every measured model, keyed by lower-cased model id (one query for
        a whole catalog table)."""
        latest: dict[str, HistoryEntry] = {}
        for entry in self.history(fingerprint=fingerprint, limit=None):
            latest.setdefault(entry.model.casefold(), entry)
        return latest
