"""Telemetry: sensor readers, the sampler thread, history, energy and trace record/replay."""
