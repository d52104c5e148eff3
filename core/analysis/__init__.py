"""Static analysis of models: parameters, memory, KV cache, fit, roofline speed, power, heat.

Pure functions over :class:`~core.analysis.model_config.ModelConfig`; no I/O in the formulas.
"""
