"""Benchmarks: run real inference (or any command) while watching thermals and energy.

Modules, in the order a run uses them:

* :mod:`core.bench.plan` — :class:`~core.bench.plan.BenchSpec` (the user's choices) →
  :func:`~core.bench.plan.plan_benchmark` → :class:`~core.bench.plan.BenchPlan`: options
  checked, model found, prediction made, "does not fit" refused with the numbers.
* :mod:`core.bench.runner` — :class:`~core.bench.runner.BenchRunner`: idle baseline, warm-up,
  measured windows, cooldowns; progress events; cancel; a
  :class:`~core.bench.runner.BenchResult`.
* :mod:`core.bench.workload` and :mod:`core.bench.child` — the workload's own process (its own
  process group), spoken to in JSON lines; a crash or an out-of-memory there is a failed result.
* :mod:`core.bench.backends` — ``transformers``, ``onnxruntime``, ``command``.
* :mod:`core.bench.feed` — where telemetry comes from (the app's sampler, or a private one).
* :mod:`core.bench.energy` — energy over a window's exact edges, idle baseline, heat, throttling.
* :mod:`core.bench.store` — the SQLite history, per-machine calibration, measured values.

Nothing here imports torch, transformers or onnxruntime except the backends, and those only in
the child process.
"""
