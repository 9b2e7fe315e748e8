"""Memory touched ahead of need (planner.memory): the model's arrays then fault in no fresh pages."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from planner import memory

ROOT = Path(__file__).resolve().parents[1]

FAULTS = """
import json, resource, sys, threading
import numpy as np
from planner import memory

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def make():  # 24 MB in arrays of 400 kB, as the model's are (numpy asks large ones for huge pages)
    return [np.ones(50_000) for _ in range(60)]

with memory.warmed(sys.argv[1]) if sys.argv[2] == "warmed" else open(sys.argv[1]):
    pass
before = faults()
if sys.argv[3] == "thread":  # made by a thread started afterwards, as HiGHS's is
    thread = threading.Thread(target=make)
    thread.start()
    thread.join()
else:
    arrays = make()
print(json.dumps(faults() - before))
"""


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_arrays_made_after_warming_fault_in_no_fresh_pages(tmp_path, where):
    """Also in a thread started afterwards: its memory comes from the same heap, not from an arena of
    its own (whose memory glibc unmaps when freed: 3 ms when the planner let go of HiGHS on L)."""
    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(b"\0" * 100_000)  # its size alone decides: 40 MB touched ahead
    assert memory.block_size(workbook) == 40_000_000
    faults = {}
    for mode in ("cold", "warmed"):
        out = subprocess.run([sys.executable, "-c", FAULTS, str(workbook), mode, where], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=60)
        faults[mode] = json.loads(out.stdout)
    assert faults["cold"] > 5000  # 24 MB of fresh pages: one fault each (4 kB pages)
    assert faults["warmed"] < faults["cold"] / 10, faults


def test_small_or_missing_workbooks_get_nothing_touched(tmp_path):
    small = tmp_path / "small.xlsx"
    small.write_bytes(b"\0" * 10_000)
    assert memory.block_size(small) == 0 and memory.block_size(tmp_path / "missing.xlsx") == 0
    with memory.warmed(tmp_path / "missing.xlsx"):
        pass
    huge = tmp_path / "huge.xlsx"
    huge.write_bytes(b"\0" * 10_000_000)
    assert memory.block_size(huge) == memory.MOST_BYTES


def test_the_block_is_handed_back_when_reading_fails(tmp_path):
    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(b"\0" * 100_000)
    with pytest.raises(ValueError), memory.warmed(workbook):
        raise ValueError("unreadable")
    assert not any(t.name == "warm-heap" for t in threading.enumerate())


AHEAD = """
import json, resource, sys, threading, time
import numpy as np
from planner import memory

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

with memory.warmed(sys.argv[1]):
    if sys.argv[2] == "ahead":
        memory.ahead(20_000)  # 60 MB, less the 32 MB above (two 16 MB pieces): 28 MB, in 4 MB pieces
        assert memory._ahead is not None and len(memory._ahead.blocks) == 6
build = [np.ones(50_000) for _ in range(80)]  # 32 MB, as the model built from the warmed block
time.sleep(0.5)  # (the helper has long touched 20 MB)
memory.release()
before = faults()
thread = threading.Thread(target=lambda: [np.ones(50_000) for _ in range(40)])  # 16 MB, as HiGHS's
thread.start()
thread.join()
print(json.dumps(faults() - before))
"""


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
def test_memory_touched_ahead_is_what_highs_allocates_in(tmp_path):
    """:func:`memory.ahead`'s block, touched while the model is built (here: once :func:`warmed`'s block
    is taken again), is where a thread started after :func:`memory.release` allocates, as HiGHS's does."""
    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(b"\0" * 100_000)  # 40 MB touched while reading
    faults = {}
    for mode in ("without", "ahead"):
        out = subprocess.run([sys.executable, "-c", AHEAD, str(workbook), mode], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=60)
        faults[mode] = json.loads(out.stdout)
    assert faults["without"] > 3000  # 16 MB of fresh pages
    assert faults["ahead"] < faults["without"] / 10, faults


def test_release_stops_the_helper_at_once_and_frees_the_block(tmp_path):
    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(b"\0" * 100_000)
    memory.ahead(10**9)  # outside warmed: nothing
    assert memory._ahead is None
    with memory.warmed(workbook):
        memory.ahead(10**9)  # capped: MOST_BYTES
        block = memory._ahead
        if memory._glibc() is not None:
            assert block is not None and len(block.blocks) * memory.AHEAD_PIECE == memory.MOST_BYTES
    memory.release()
    assert memory._ahead is None and not any(t.name == "warm-heap" for t in threading.enumerate())
    memory.release()  # (twice: nothing)


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
@pytest.mark.parametrize("fails", [False, True])
def test_a_plan_run_hands_the_block_back(monkeypatch, fails):
    """solve_file has memory touched ahead and hands it back just before HiGHS gets the model, or at
    the end when no HiGHS takes it (here: the build fails)."""
    from planner import run, solver

    monkeypatch.setattr(memory, "AHEAD_PER_OFFER_PERIOD", 10**6)  # the example's few offers: the most (MOST_BYTES)
    released, passed = [], []
    release, highs = memory.release, solver._highs
    monkeypatch.setattr(memory, "release", lambda: (released.append((memory._ahead is not None, bool(passed))), release()))
    def handed(*args, **kwargs):
        h = highs(*args, **kwargs)
        passed.append(memory._ahead is None)
        return h
    monkeypatch.setattr(solver, "_highs", handed)
    if fails:
        def build_fails(data):
            raise MemoryError("no room for the model")
        monkeypatch.setattr(run, "build_matrix", build_fails)
        with pytest.raises(MemoryError):
            run.solve_file(ROOT / "inputs" / "example.xlsx", None, run.Options())
    else:
        assert run.solve_file(ROOT / "inputs" / "example.xlsx", None, run.Options()).status == "optimal"
    assert [r for r in released if r[0]] == [(True, False)]  # once, with the block there (in _highs when solving)
    assert passed == ([] if fails else [True])  # handed back by the time HiGHS has the model
    assert memory._ahead is None and not any(t.name == "warm-heap" for t in threading.enumerate())
