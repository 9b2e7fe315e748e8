"""Shared test helpers: small workbooks as rows, written the plain way other programs do."""

from __future__ import annotations

import copy
from pathlib import Path

import openpyxl
import pytest

SMALL = {
    "Settings": [{"setting": "plan_name", "value": "Small"}, {"setting": "discount_rate", "value": 0}],
    "Materials": [{"material": "NdPr", "name": "NdPr oxide"}, {"material": "Dy", "name": "Dy oxide"}],
    "Countries": [
        {"country": "US", "bloc": "domestic", "risk_score": 0.1},
        {"country": "AU", "bloc": "ally", "risk_score": 0.2},
        {"country": "CN", "bloc": "FEOC", "risk_score": 0.9, "tariff": 0.25},
    ],
    "Sources": [
        {"source": "MP", "country": "US", "kind": "mine", "capacity": 100},
        {"source": "LYN", "country": "AU", "kind": "processor", "owner": "Lynas"},
        {"source": "CN1", "country": "CN", "kind": "processor"},
        {"source": "NEW", "country": "US", "kind": "processor", "status": "candidate", "build_cost": 1000, "lead_time": 1, "capacity": 50},
    ],
    "Offers": [
        {"source": "MP", "material": "NdPr", "unit_cost": 60, "capacity": 80},
        {"source": "LYN", "material": "NdPr", "unit_cost": 70, "capacity": 50},
        {"source": "CN1", "material": "NdPr", "unit_cost": 40},
        {"source": "CN1", "material": "Dy", "unit_cost": 300},
        {"source": "NEW", "material": "Dy", "unit_cost": 350, "capacity": 20},
        {"source": "LYN", "material": "Dy", "unit_cost": 400, "capacity": 20},
    ],
    "Demand": [{"material": m, "period": t, "quantity": q} for m, q in (("NdPr", 100), ("Dy", 10)) for t in (2026, 2027)],
    "Policies": [{"policy": "feoc-cap", "rule": "max_share", "selection": "bloc=FEOC", "limit": "50%"}],
}


@pytest.fixture
def small_rows() -> dict[str, list[dict]]:
    return copy.deepcopy(SMALL)


def write_plain(path: Path, rows: dict[str, list[dict]], header_case=str) -> Path:
    """Write rows with plain openpyxl, no tables or styling: how another program would."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, recs in rows.items():
        ws = wb.create_sheet(name)
        keys: list[str] = []
        for r in recs:
            keys.extend(k for k in r if k not in keys)
        ws.append([header_case(k) for k in keys])
        for i, r in enumerate(recs, start=2):
            for j, k in enumerate(keys, start=1):
                cell = ws.cell(row=i, column=j, value=r.get(k))
                if isinstance(r.get(k), str):
                    cell.data_type = "s"  # text stays text, as typed with a leading apostrophe
    wb.save(path)
    return path
