"""Run the many small linear-algebra calls of a fit on one BLAS thread.

The weight problems are small (tens to a few hundred unknowns). Multi-threaded BLAS only adds
synchronisation to them, and on a busy machine it can make a 100×100 factorisation 50× slower.
This sets OpenBLAS (as bundled with numpy/scipy) to one thread for the duration of a call and
restores it afterwards; where no OpenBLAS is found it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager


def _openblas_libs() -> list[tuple[ctypes.CDLL, str]]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return []
    found = []
    for path in sorted(paths):
        if not path.startswith("/"):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                name = f"{prefix}_set_num_threads{suffix}"
                if hasattr(lib, name) and hasattr(lib, f"{prefix}_get_num_threads{suffix}"):
                    found.append((lib, f"{prefix}_%s_num_threads{suffix}"))
                    break
            else:
                continue
            break
    return found


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit OpenBLAS to one thread inside the ``with`` block."""
    libs = _openblas_libs()
    saved = []
    for lib, pattern in libs:
        try:
            saved.append((lib, pattern, int(getattr(lib, pattern % "get")())))
            getattr(lib, pattern % "set")(1)
        except (AttributeError, OSError, ValueError):
            continue
    try:
        yield
    finally:
        for lib, pattern, n in saved:
            getattr(lib, pattern % "set")(n)
