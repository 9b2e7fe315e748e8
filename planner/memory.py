"""Fresh memory touched ahead of need, by the core that would otherwise wait.

A fresh process pays a page fault the first time it touches each page of memory. Building,
handing over and reading back the benchmark's L model touch about 60 MB of new memory: ~15,000
faults, about a fifth of what the planner spends beside HiGHS (run once more in the same
process, with that memory already touched, the same stages took 35 ms less). While the
workbook is read and checked, which keeps one core busy, :func:`warmed` has a helper thread
touch a block of the heap on the other core; the block is handed back before the model is
built, and the model's arrays are then made in pages already touched.

HiGHS pays the same: on L its LP touches ~86 MB of fresh memory (22,000 faults, ~40 ms of its
0.2 s; run again in the same process it faulted 4,000). So once the workbook is checked,
:func:`ahead` has the helper go on, while the model is built and handed over (the main core's
work: the other is idle), touching a second block that :func:`release` hands back just before
HiGHS gets the model (planner.solver), which then allocates in it.

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
# What building, handing over and solving an LP touch per offer-period, all told (L: ~60 MB for the
# build and hand-off and ~90 MB by HiGHS, over 166 MB it allocates, for 56,608 offer-periods; XL
# 263 MB by HiGHS for 253,614), in pieces small enough that stopping waits little for one.
AHEAD_PER_OFFER_PERIOD, AHEAD_PIECE = 3000, 4 << 20


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


class _Touched:
    """Blocks of the heap (``size`` bytes in pieces of ``piece``) touched in order by a helper thread,
    which starts once ``after`` (another helper) is done, and stops early when asked."""

    def __init__(self, libc, size: int, piece: int, after: threading.Thread | None = None):
        self.libc, self.piece = libc, piece
        self.blocks = [b for b in (libc.malloc(piece) for _ in range(size // piece)) if b]
        self._stop = threading.Event()
        self.helper = threading.Thread(target=self._touch, args=(after,), name="warm-heap", daemon=True)
        self.helper.start()

    def _touch(self, after: threading.Thread | None) -> None:  # ctypes calls release the GIL: the other core's work
        if after is not None:
            after.join()
        for b in self.blocks:
            if self._stop.is_set():
                return
            ctypes.memset(b, 0, self.piece)

    def free(self, stop: bool = False) -> None:
        """Hand the blocks to the allocator, once the helper is done (or, with ``stop``, its piece)."""
        if stop:
            self._stop.set()
        self.helper.join()
        for b in self.blocks:
            self.libc.free(b)
        self.blocks = []


_reading: _Touched | None = None  # the block of :func:`warmed`, while its body runs
_ahead: _Touched | None = None  # the block of :func:`ahead`, until :func:`release`


@contextmanager
def warmed(path: str | os.PathLike):
    """While the body runs (reading and checking the workbook at ``path``), a helper thread
    touches :func:`block_size` bytes of the heap, in blocks of PIECE bytes; on leaving, the blocks
    are freed for the allocations that follow (after the helper is done, if it is not yet)."""
    global _reading
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
    _reading = block = _Touched(libc, n, PIECE)
    try:
        yield
    finally:
        _reading = None
        block.free()


def ahead(offer_periods: int) -> None:
    """Inside :func:`warmed`, once the workbook is checked: have memory touched for HiGHS too, while the
    model is built and handed over (the other core is idle then), until :func:`release`.

    What building, handing over and solving touch grows with the offer-periods (AHEAD_PER_OFFER_PERIOD
    each); :func:`warmed`'s block covers part of it. The rest, if worth a thread, is allocated now,
    above that block (still held, so the build gets that one back), and touched once it is."""
    global _ahead
    release()
    if _reading is None:
        return
    size = min(AHEAD_PER_OFFER_PERIOD * int(offer_periods) - len(_reading.blocks) * _reading.piece, MOST_BYTES)
    if size >= LEAST_BYTES:
        _ahead = _Touched(_reading.libc, size, AHEAD_PIECE, after=_reading.helper)


def release() -> None:
    """Free the memory :func:`ahead` touched (the helper stopped after its piece): planner.solver calls this
    just before HiGHS gets the model, whose allocations then land in pages already touched."""
    global _ahead
    if _ahead is not None:
        block, _ahead = _ahead, None
        block.free(stop=True)
