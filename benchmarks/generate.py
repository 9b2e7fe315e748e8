"""Synthetic but realistic planner workbooks for the benchmarks.

:func:`generate` writes a sourcing plan of any size: real-sounding materials, ~30 countries
in blocs (one domestic, allies, partners, FEOC, other) with FEOC cheap, big and
carbon-heavy and domestic dear and clean; mines, processors, recyclers and traders,
grouped under parent companies; about ``offered`` of the (source, material) pairs
offered, a share of them with minimum orders, contract costs, limited period windows or
an unlimited capacity; sources with capacities shared over their materials and fixed
costs; candidate sources to build with lead times; demand growing over the horizon;
country-, material- and period-specific tariffs; and policies of every rule (shares with
``bloc=…``, ``bloc=a|b`` and ``country=*``, counts, totals of quantity, spend and CO2e, per
period and over the horizon, hard and soft). A shortage penalty keeps every instance
feasible whatever the rules; the rules are set so that several bind.

:func:`facility_location` writes the capacitated facility location problem (one period,
every source offers every material, fixed costs and capacities on the sources).

Instances are deterministic (seeded) and written with openpyxl's write-only mode, as
another program would write them.

    .venv/bin/python benchmarks/generate.py S M L -o /tmp/bench      # writes S.xlsx, M.xlsx, L.xlsx
    .venv/bin/python benchmarks/generate.py CFL -o /tmp/bench
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from openpyxl import Workbook


@dataclass(frozen=True)
class Size:
    materials: int
    sources: int
    periods: int


# S, M and L as the performance issue defines them; XL stresses memory (~3x L's Buy columns).
SIZES = {
    "S": Size(5, 50, 5),
    "M": Size(10, 200, 10),
    "L": Size(20, 500, 20),
    "XL": Size(30, 1500, 20),
}
FIRST_YEAR = 2027

MATERIALS = ("NdPr", "Dy", "Tb", "Li", "Co", "Ni", "Graphite", "Ga", "Ge", "Mn", "Sb", "W", "V", "In", "Te",
             "Nb", "Ta", "Pt", "Pd", "Be", "Bi", "Cr", "Hf", "Sc", "Y", "Zr", "Mg", "Ti", "Sn", "Ba")
# (country, bloc, risk score, country tariff, share of sources)
COUNTRIES = (
    ("US", "domestic", 0.05, 0.0, 10), ("CA", "ally", 0.1, 0.0, 5), ("AU", "ally", 0.1, 0.0, 6),
    ("JP", "ally", 0.1, 0.0, 3), ("KR", "ally", 0.15, 0.0, 2), ("GB", "ally", 0.1, 0.0, 2),
    ("DE", "ally", 0.1, 0.0, 2), ("FR", "ally", 0.1, 0.0, 2), ("NO", "ally", 0.1, 0.0, 1),
    ("FI", "ally", 0.1, 0.0, 1), ("SE", "ally", 0.1, 0.0, 1), ("EE", "ally", 0.15, 0.0, 1),
    ("CL", "partner", 0.3, 0.02, 3), ("BR", "partner", 0.35, 0.03, 3), ("AR", "partner", 0.4, 0.03, 2),
    ("IN", "partner", 0.35, 0.05, 3), ("ID", "partner", 0.45, 0.05, 3), ("VN", "partner", 0.4, 0.05, 2),
    ("MY", "partner", 0.35, 0.03, 2), ("PH", "partner", 0.4, 0.03, 1), ("ZA", "partner", 0.4, 0.03, 2),
    ("NA", "partner", 0.35, 0.02, 1), ("MA", "partner", 0.35, 0.02, 1),
    ("CN", "FEOC", 0.9, 0.25, 25), ("RU", "FEOC", 0.95, 0.35, 4), ("KP", "FEOC", 1.0, 0.5, 1),
    ("CD", "other", 0.8, 0.05, 4), ("MM", "other", 0.85, 0.1, 3), ("BO", "other", 0.5, 0.05, 1),
    ("ZW", "other", 0.7, 0.05, 1),
)
BLOC_PRICE = {"domestic": 1.25, "ally": 1.1, "partner": 1.0, "FEOC": 0.8, "other": 0.9}
BLOC_CO2E = {"domestic": 0.7, "ally": 0.8, "partner": 1.0, "FEOC": 1.6, "other": 1.3}
KINDS = ("mine", "processor", "recycler", "trader")
KIND_SHARE = (0.45, 0.3, 0.1, 0.15)

# Shares of offers and sources carrying each feature.
MIN_ORDER_SHARE = 0.12
CONTRACT_SHARE = 0.08
UNLIMITED_SHARE = 0.1
WINDOW_SHARE = 0.1
FIXED_COST_SHARE = 0.1
SOURCE_CAPACITY_SHARE = 0.4
CANDIDATE_SHARE = 0.05
CAPACITY_OVER_DEMAND = 3.0  # all offers of a material together can supply this multiple of its demand


def material_names(n: int) -> list[str]:
    return [MATERIALS[j % len(MATERIALS)] + ("" if j < len(MATERIALS) else f"-{j // len(MATERIALS)}") for j in range(n)]


def generate(materials: int = 5, sources: int = 50, periods: int = 5, offered: float = 0.3,
             seed: int = 1) -> dict[str, list[dict]]:
    """Workbook rows (sheet → list of row dicts keyed by column key) of a sourcing plan."""
    rng = np.random.default_rng(seed)
    years = list(range(FIRST_YEAR, FIRST_YEAR + periods))
    mats = material_names(materials)
    names, blocs, risks, tariffs, weights = zip(*COUNTRIES)
    bloc_of = dict(zip(names, blocs))
    rows: dict[str, list[dict]] = {
        "Settings": [
            {"setting": "plan_name", "value": f"benchmark {materials}x{sources}x{periods}"},
            {"setting": "discount_rate", "value": 0.05},
            {"setting": "carbon_price", "value": 40},
            {"setting": "risk_price", "value": 5},
            {"setting": "shortage_penalty", "value": 5000},
        ],
        "Materials": [{"material": m, "name": f"{m} (synthetic)"} for m in mats],
        "Countries": [{"country": c, "bloc": b, "risk_score": r, "tariff": t}
                      for c, b, r, t, _ in COUNTRIES],
    }

    # sources: country by weight (every bloc present), kind, owner groups, capacity, fixed cost, candidates
    w = np.asarray(weights, dtype=float)
    country = rng.choice(len(names), size=sources, p=w / w.sum())
    country[: min(sources, 5)] = [names.index(c) for c in ("US", "AU", "CL", "CN", "CD")][: min(sources, 5)]
    kind = rng.choice(len(KINDS), size=sources, p=KIND_SHARE)
    owners = max(2, sources // 8)
    owned = rng.uniform(size=sources) < 0.4
    owner = rng.integers(0, owners, size=sources)
    candidate = rng.uniform(size=sources) < CANDIDATE_SHARE
    candidate[: min(sources, 5)] = False
    # candidates are mostly domestic or allied projects
    cand_country = rng.choice([names.index(c) for c in ("US", "US", "CA", "AU", "JP", "FI")], size=sources)
    country = np.where(candidate, cand_country, country)
    src_ids = [f"S{i:05d}" for i in range(sources)]

    # offers: ~offered of the (source, material) pairs, every material with at least 3 sellers
    pick = rng.uniform(size=(sources, materials)) < offered
    for j in range(materials):
        while pick[:, j].sum() < min(3, sources):
            pick[rng.integers(sources), j] = True
    pick[candidate & ~pick.any(axis=1), 0] = True  # a candidate sells something
    base_price = np.round(rng.lognormal(np.log(60), 1.0, size=materials), 2)
    demand0 = np.round(rng.lognormal(np.log(2000), 0.8, size=materials))
    sellers = pick.sum(axis=0)

    offers = []
    cap_of_source = np.zeros(sources)
    for i, j in zip(*np.nonzero(pick)):
        c = names[country[i]]
        bloc = bloc_of[c]
        k = KINDS[kind[i]]
        cap = float(np.round(demand0[j] * CAPACITY_OVER_DEMAND / sellers[j] * rng.uniform(0.3, 1.7)))
        cap_of_source[i] += cap
        price = base_price[j] * BLOC_PRICE[bloc] * (1.1 if k == "trader" else 1.0) * rng.uniform(0.8, 1.25)
        co2e = rng.uniform(2, 20) * BLOC_CO2E[bloc] * (0.3 if k == "recycler" else 1.0)
        o = {"source": src_ids[i], "material": mats[j], "unit_cost": round(float(price), 2),
             "capacity": None if rng.uniform() < UNLIMITED_SHARE else cap,
             "co2e": round(float(co2e), 2), "water": round(float(rng.uniform(1, 50)), 1),
             "waste": round(float(rng.uniform(0.1, 5)), 2)}
        if rng.uniform() < MIN_ORDER_SHARE:
            o["min_order"] = float(np.round(cap * rng.uniform(0.1, 0.4)))
        if rng.uniform() < CONTRACT_SHARE:
            o["contract_cost"] = float(np.round(price * cap * rng.uniform(0.02, 0.08)))
        if rng.uniform() < WINDOW_SHARE and periods > 2:
            if rng.uniform() < 0.5:
                o["first_period"] = years[int(rng.integers(1, periods))]
            else:
                o["last_period"] = years[int(rng.integers(0, periods - 1))]
        offers.append(o)

    rows["Sources"] = []
    for i in range(sources):
        s = {"source": src_ids[i], "name": f"{names[country[i]]} {KINDS[kind[i]]} {i}", "country": names[country[i]],
             "kind": KINDS[kind[i]], "owner": f"Group {owner[i]}" if owned[i] else None}
        if rng.uniform() < SOURCE_CAPACITY_SHARE or candidate[i]:
            s["capacity"] = float(np.round(cap_of_source[i] * rng.uniform(0.4, 0.8)))
        if rng.uniform() < FIXED_COST_SHARE:
            s["fixed_cost"] = float(np.round(cap_of_source[i] * base_price.mean() * rng.uniform(0.02, 0.06)))
        if candidate[i]:
            s.update(status="candidate", build_cost=float(np.round(cap_of_source[i] * base_price.mean() * rng.uniform(0.5, 2))),
                     lead_time=int(rng.integers(1, 4)), earliest_build=years[int(rng.integers(0, max(1, periods // 3)))])
        rows["Sources"].append(s)
    rows["Offers"] = offers

    growth = rng.uniform(0.02, 0.08, size=materials)
    rows["Demand"] = [{"material": m, "period": t, "quantity": float(np.round(demand0[j] * (1 + growth[j]) ** k))}
                      for j, m in enumerate(mats) for k, t in enumerate(years)]
    rows["Tariffs"] = [
        {"country": "CN", "material": mats[min(6, materials - 1)], "rate": 0.5, "notes": "graphite duty"},
        {"country": "RU", "period": years[min(2, periods - 1)], "rate": 0.45},
        {"country": "CN", "material": mats[0], "period": years[-1], "rate": 0.6},
    ]
    # the hard recycled floor stays within what existing recyclers can sell, so that it can hold
    recycled = sum(o["capacity"] or 0.0 for o in offers
                   if KINDS[kind[int(o["source"][1:])]] == "recycler" and not candidate[int(o["source"][1:])])
    rows["Policies"] = policies(mats, years, demand0, base_price, recycled)
    return rows


def policies(mats: list[str], years: list[int], demand0: np.ndarray, base_price: np.ndarray,
             recycled: float) -> list[dict]:
    """Rules of every kind: hard and soft, per material or all, per period or over the horizon.

    ``recycled`` is the capacity per period of the existing recyclers' offers.
    """
    total_demand = float(demand0.sum())
    spend = float((demand0 * base_price).sum())
    m0, m1 = mats[0], mats[min(1, len(mats) - 1)]
    return [
        {"policy": "feoc-cap", "rule": "max_share", "selection": "bloc=FEOC", "limit": 0.3},
        {"policy": "no-country-above-50", "rule": "max_share", "selection": "country=*", "limit": 0.5,
         "enforcement": "soft", "penalty": 500},
        {"policy": "allied-floor", "rule": "min_share", "selection": "bloc=domestic|ally", "limit": 0.25,
         "enforcement": "soft", "penalty": 300},
        {"policy": "domestic-magnets", "rule": "min_share", "selection": "bloc=domestic|kind=recycler",
         "material": m0, "limit": 0.1},
        {"policy": "two-suppliers", "rule": "min_sources", "selection": "all", "material": m0, "limit": 2,
         "enforcement": "soft", "penalty": 1_000_000},
        {"policy": "one-feoc-supplier", "rule": "max_sources", "selection": "bloc=FEOC", "material": m1, "limit": 1},
        {"policy": "co2e-cap", "rule": "max_total", "metric": "co2e", "limit": round(total_demand * 9)},
        {"policy": "co2e-horizon", "rule": "max_total", "metric": "co2e", "period": "horizon",
         "limit": round(total_demand * 8.5 * len(years)), "enforcement": "soft", "penalty": 100},
        {"policy": "budget-first-year", "rule": "max_total", "metric": "spend", "period": years[0],
         "limit": round(spend * 1.2)},
        {"policy": "domestic-spend", "rule": "min_total", "metric": "spend", "selection": "bloc=domestic",
         "limit": round(spend * 0.05), "enforcement": "soft", "penalty": 1},
        {"policy": "recycled-quantity", "rule": "min_total", "selection": "kind=recycler", "period": "horizon",
         "limit": round(min(total_demand * 0.03, recycled * 0.2) * len(years))},
    ]


def facility_location(sources: int = 100, materials: int = 1000, seed: int = 7) -> dict[str, list[dict]]:
    """The capacitated facility location problem as a one-period plan.

    Sources are facilities (capacity, fixed cost) on a 100 × 100 square, materials are
    customers with a demand; every source offers every material at the distance between
    them per unit. Capacities add up to 3x the demand (as in OR-Library's cap instances).
    """
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 35, materials).astype(float)
    capacity = np.round(rng.uniform(0.5, 1.5, sources) * 3 * demand.sum() / sources)
    fixed = np.round(rng.uniform(0.5, 1.5, sources) * capacity * 4)
    xy_s, xy_m = rng.uniform(0, 100, (sources, 2)), rng.uniform(0, 100, (materials, 2))
    cost = np.round(np.linalg.norm(xy_s[:, None, :] - xy_m[None, :, :], axis=2) / 10, 2)
    return {
        "Settings": [{"setting": "plan_name", "value": f"facility location {sources}x{materials}"}],
        "Materials": [{"material": f"C{j:04d}"} for j in range(materials)],
        "Countries": [{"country": "US", "bloc": "domestic"}],
        "Sources": [{"source": f"F{i:03d}", "country": "US", "capacity": float(capacity[i]), "fixed_cost": float(fixed[i])}
                    for i in range(sources)],
        "Offers": [{"source": f"F{i:03d}", "material": f"C{j:04d}", "unit_cost": float(cost[i, j])}
                   for i in range(sources) for j in range(materials)],
        "Demand": [{"material": f"C{j:04d}", "period": FIRST_YEAR, "quantity": float(demand[j])} for j in range(materials)],
    }


def instance(name: str, seed: int = 1) -> dict[str, list[dict]]:
    """Rows of a named instance: a size of :data:`SIZES` or ``CFL`` (facility location 100 × 1000)."""
    if name == "CFL":
        return facility_location()
    s = SIZES[name]
    return generate(s.materials, s.sources, s.periods, seed=seed)


def write_workbook(path: Path, rows: dict[str, list[dict]]) -> Path:
    """Write ``rows`` as plain sheets (header on row 1) with openpyxl's write-only mode."""
    wb = Workbook(write_only=True)
    for name, recs in rows.items():
        ws = wb.create_sheet(name)
        keys = list(dict.fromkeys(k for r in recs for k in r))
        ws.append(keys)
        for r in recs:
            ws.append([r.get(k) for k in keys])
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", choices=[*SIZES, "CFL"])
    ap.add_argument("-o", "--outdir", type=Path, default=Path("outputs/bench"))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    a.outdir.mkdir(parents=True, exist_ok=True)
    for name in a.names:
        t = time.perf_counter()
        rows = instance(name, a.seed)
        path = write_workbook(a.outdir / f"{name}.xlsx", rows)
        print(f"{path}: {len(rows['Sources'])} sources, {len(rows['Offers'])} offers, "
              f"{len(rows['Demand'])} demand rows, {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
