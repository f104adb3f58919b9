"""``python -m polars_mlq.cli``: the same as the ``polars-mlq`` command."""

from __future__ import annotations

from polars_mlq.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
