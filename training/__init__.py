"""Scripts that rebuild every model shipped in ``src/tilsvar/pipeline/data`` from ``../shared/eval``."""
