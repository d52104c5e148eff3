"""Header-only readers for model files: parameters and dtypes without reading weights."""
