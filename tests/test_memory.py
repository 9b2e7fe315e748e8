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
