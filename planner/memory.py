"""Fresh memory touched ahead of need, by the core that would otherwise wait.

A fresh process pays a page fault the first time it touches each page of memory. Building,
handing over and reading back the benchmark's L model touch about 60 MB of new memory: ~15,000
faults, about a fifth of what the planner spends beside HiGHS (run once more in the same
process, with that memory already touched, the same stages took 35 ms less). While the
workbook is read and checked, which keeps one core busy, :func:`warmed` has a helper thread
touch a block of the heap on the other core; the block is handed back before the model is
built, and the model's arrays are then made in pages already touched.

This needs glibc's allocator, told (``mallopt``) to keep large blocks in its heap rather than
in mappings of their own, and to keep freed memory rather than return it to the system: a
block is then reused by the next allocations instead of being unmapped. Threads started
afterwards (HiGHS's) are told to allocate in that one heap too: in an arena of their own,
HiGHS's memory faulted in fresh pages and was unmapped when the planner let go of it (3 ms
on L, on the way from HiGHS to the plan), and the plan's writing then faulted in fresh pages
again (15,000 on L; 6,000 now). The settings hold for the rest of the process: it keeps its
peak memory until it ends, as a command does anyway.
Elsewhere (another C library) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
from contextlib import contextmanager
from pathlib import Path

# What a workbook needs touched, per byte of the file (compressed XML: the benchmark's L, 150 kB,
# touches ~60 MB), within bounds: below the least, a thread is not worth starting; the most
# keeps the memory held back, and the time to touch it, within what reading takes.
BYTES_PER_FILE_BYTE = 400
LEAST_BYTES, MOST_BYTES = 16 << 20, 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD, PIECE = 32 << 20, 16 << 20  # blocks below the threshold come from the heap; touched in pieces


def _glibc():
    """glibc's C library with malloc, free, memset and mallopt typed; None on another C library."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    libc.mallopt.restype, libc.mallopt.argtypes = ctypes.c_int, [ctypes.c_int, ctypes.c_int]
    return libc


def block_size(path: str | os.PathLike) -> int:
    """Bytes to touch ahead for the workbook at ``path``: 0 when not worth it (or no such file)."""
    try:
        size = min(BYTES_PER_FILE_BYTE * os.path.getsize(path), MOST_BYTES)
    except OSError:
        return 0
    return size if size >= LEAST_BYTES else 0


@contextmanager
def warmed(path: str | os.PathLike):
    """While the body runs (reading and checking the workbook at ``path``), a helper thread
    touches :func:`block_size` bytes of the heap, in blocks of PIECE bytes; on leaving, the blocks
    are freed for the allocations that follow (after the helper is done, if it is not yet)."""
    n = block_size(Path(path))
    libc = _glibc() if n else None
    if libc is None:
        yield
        return
    # blocks below 32 MB from the heap (glibc accepts no higher threshold everywhere), so that a freed
    # one is reused; freed memory kept, not handed back to the system
    if not (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1)):
        yield
        return
    libc.mallopt(_M_ARENA_MAX, 1)  # threads started from now on (HiGHS's) allocate in that heap too
    blocks = [b for b in (libc.malloc(PIECE) for _ in range(n // PIECE)) if b]

    def touch() -> None:  # ctypes calls release the GIL: this runs on the other core while the caller reads
        for b in blocks:
            ctypes.memset(b, 0, PIECE)
    helper = threading.Thread(target=touch, name="warm-heap", daemon=True)
    helper.start()
    try:
        yield
    finally:
        helper.join()
        for b in blocks:
            libc.free(b)
