r"""The reference formulation: the sourcing problem written by hand as arrays for highspy.

This is what the sourcing model (``models/sourcing.py``) is measured against: the same
problem (README "The model" and "How a policy reads"), written independently from the
typed plan data with numpy and one ``passModel`` call, as tight and as small as we know
how. The benchmark's *formulation ratio* is HiGHS's time on our model over its time on
this one; ``tests/test_benchmark_reference.py`` checks both reach the same optimum and the
same LP relaxation bound.

Columns, in this order (o = an offer-period, i.e. a purchase option)::

    Buy[o]       0 <= Buy <= bound[o]       bound = min(capacity[o,t], capacity[s,t], max(demand[m,t], min_order))
    Use[o]       binary                     offers with a minimum order, a contract cost, or counted
                                            by a count rule that can bind
    SourceUse    binary per (s, t)          sources with a fixed cost, periods they can supply in
    Build        binary per (s, b)          candidates, b from max(earliest_build, first) to last - lead
    Shortfall    0 <= . <= demand           demands with a shortage penalty
    Supply       >= 0 per (m, t)            a material's purchases, where a share row needs it
    Violation    >= 0 per soft row

Rows::

    demand          Σ_{o sells m} Buy + Shortfall >= demand[m,t]
    offer_use       Buy - bound·Use <= 0;  Buy - min_in_use·Use >= 0          (offers with Use)
    source_cap      Σ_{o of s} Buy - cap·gate <= 0  (or <= cap)  gate = SourceUse, or Σ Build for candidates;
                    only where ≥ 2 offers whose bounds exceed cap
    source_use      Use - SourceUse <= 0  or  Buy - bound·SourceUse <= 0   per offer (strong form)
    build_once      Σ_b Build[s,b] <= 1
    built           SourceUse[s,t] - Σ_{b+lead<=t} Build <= 0; per candidate offer without a fixed-cost
                    source: Use - Σ Build <= 0 or Buy - bound·Σ Build <= 0
    supply          Supply[m,t] - Σ_{o sells m} Buy = 0
    share           Σ_sel Buy - limit·Supply ∓ Violation  <= 0 (max) / >= 0 (min)
    count           Σ_sel Use ∓ Violation <= / >= limit
    total           Σ_sel metric·Buy ∓ Violation <= / >= limit

What the hand-written form leaves out because it cannot matter: min rules whose limit is 0,
a min share over its whole scope, max rules that every bound already satisfies (a share
of 100%, a count no larger than its members, a total whose bounds sum below its limit).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.data import PlanData
from planner import solver

IN_USE_FRACTION = 0.01  # README: an offer counted by min_sources is in use from 1% of its bound
METRIC = {"quantity": None, "spend": "price", "co2e": "co2e", "water": "water", "waste": "waste", "risk": "risk_score"}
FIELDS = ("source", "country", "bloc", "kind", "owner", "status")


@dataclass
class Reference:
    """The model as HiGHS receives it."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    seconds: float  # time to build these arrays from the plan data


class _Rows:
    """Rows collected as COO triplets."""

    def __init__(self):
        self.r, self.c, self.v, self.lo, self.up = [], [], [], [], []
        self.n = 0

    def add(self, k: int, rows, cols, vals, lo, up) -> None:
        """``k`` rows numbered 0..k-1 here, entries (rows[i], cols[i], vals[i]), bounds lo <= row <= up."""
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), k))
        self.up.append(np.broadcast_to(np.asarray(up, dtype=float), k))
        self.n += k


def build(data: PlanData) -> Reference:
    """The reference model of ``data``."""
    start = time.perf_counter()
    s = data.settings
    periods = np.asarray(data.periods)
    first, last = int(periods[0]), int(periods[-1])
    base = data.base_period
    disc = lambda t: (1.0 + s.discount_rate) ** -(np.asarray(t, dtype=float) - base)  # noqa: E731

    src = data.sources
    off = data.offers
    # candidates: build options and first supply period
    cand = src[src["status"] == "candidate"]
    b_first = np.maximum(cand["earliest_build"].to_numpy(int), first)
    b_last = last - cand["lead_time"].to_numpy(int)
    options = {name: (list(range(f, l + 1)), int(lead))
               for name, f, l, lead in zip(cand.index, b_first, b_last, cand["lead_time"])}
    supply_from = {name: opts[0] + lead for name, (opts, lead) in options.items() if opts}

    # purchase options
    op = data.offer_periods[["offer", "period", "unit_cost", "capacity", "tariff"]].copy()
    o = op["offer"].to_numpy()
    for c in ("source", "material", "min_order", "contract_cost", "co2e", "water", "waste", "risk_score", *FIELDS[1:]):
        op[c] = off[c].to_numpy()[o]
    op["period"] = op["period"].astype(int)
    dem = data.demand.set_index(["material", "period"])["quantity"]
    op["demand"] = dem.reindex(pd.MultiIndex.from_arrays([op["material"], op["period"]])).to_numpy(dtype=float)
    scap = data.source_periods.set_index(["source", "period"])["capacity"]
    op["scap"] = scap.reindex(pd.MultiIndex.from_arrays([op["source"], op["period"]])).to_numpy(dtype=float)
    bound = np.fmin(np.fmin(op["capacity"].to_numpy(float), op["scap"].to_numpy()),
                    np.fmax(op["demand"].to_numpy(), op["min_order"].to_numpy(float)))
    op["bound"] = bound
    is_cand = (op["status"] == "candidate").to_numpy()
    starts = op["source"].map(supply_from).to_numpy(dtype=float)  # NaN: never supplies, or not a candidate
    available = ~is_cand | (op["period"].to_numpy() >= starts)
    op = op[available & (op["demand"].to_numpy() > 0) & (bound > 0)].reset_index(drop=True)
    n = len(op)
    op["price"] = op["unit_cost"] * (1.0 + op["tariff"])
    op["fixed"] = op["source"].map(src["fixed_cost"]).to_numpy(float)
    op["candidate"] = (op["status"] == "candidate").to_numpy()
    mat, per, source = op["material"].to_numpy(), op["period"].to_numpy(), op["source"].to_numpy()
    scap, candidate = op["scap"].to_numpy(), op["candidate"].to_numpy()
    bound = op["bound"].to_numpy()

    instances = _instances(data, op)
    counted = np.zeros(n, bool)
    at_least = np.zeros(n, bool)
    for p in instances:
        if p["kind"] == "count":
            counted[p["members"]] = True
            at_least[p["members"]] |= not p["is_max"]
    has_use = (op["min_order"].to_numpy() > 0) | (op["contract_cost"].to_numpy() > 0) | counted
    min_in_use = np.where(op["min_order"].to_numpy() > 0, op["min_order"].to_numpy(),
                          np.where(at_least, IN_USE_FRACTION * bound, 0.0))

    # columns
    cols_cost, cols_lo, cols_up, cols_int = [], [], [], []
    ncol = [0]

    def columns(cost, lo, up, integer) -> np.ndarray:
        k, at = len(cost), ncol[0]
        ncol[0] += k
        cols_cost.append(np.asarray(cost, float))
        cols_lo.append(np.broadcast_to(np.asarray(lo, float), k))
        cols_up.append(np.broadcast_to(np.asarray(up, float), k))
        cols_int.append(np.full(k, integer))
        return np.arange(at, at + k)

    d = disc(per)
    buy = columns(d * (op["price"].to_numpy() + s.carbon_price * op["co2e"].to_numpy()
                       + s.risk_price * op["risk_score"].to_numpy()), 0.0, bound, False)
    use_at = np.flatnonzero(has_use)
    use = np.full(n, -1)
    use[use_at] = columns((d * op["contract_cost"].to_numpy())[use_at], 0.0, 1.0, True)

    fixed_mask = op["fixed"].to_numpy() > 0
    su_keys = pd.MultiIndex.from_arrays([op["source"][fixed_mask], op["period"][fixed_mask]]).unique()
    su_cols = columns(src["fixed_cost"].reindex(su_keys.get_level_values(0)).to_numpy() * disc(su_keys.get_level_values(1)),
                      0.0, 1.0, True)
    su_of = pd.Series(su_cols, index=su_keys)
    op_su = np.full(n, -1)
    op_su[fixed_mask] = su_of.reindex(pd.MultiIndex.from_arrays([op["source"][fixed_mask], op["period"][fixed_mask]])).to_numpy()

    b_keys = [(name, b) for name, (opts, _) in options.items() for b in opts]
    b_cost = np.array([src.at[name, "build_cost"] * float(disc(b)) for name, b in b_keys])
    b_cols = columns(b_cost, 0.0, 1.0, True)
    build_col = dict(zip(b_keys, b_cols))

    def built(name: str, t: int) -> list[int]:
        opts, lead = options[name]
        return [build_col[name, b] for b in opts if b + lead <= t]

    short = data.demand[(data.demand["quantity"] > 0) & data.demand["shortage_penalty"].notna()]
    sh_cols = columns(short["shortage_penalty"].to_numpy() * disc(short["period"]), 0.0, short["quantity"].to_numpy(float), False)
    shortfall = dict(zip(zip(short["material"], short["period"].astype(int)), sh_cols))

    rows = _Rows()
    # demand
    groups = pd.Series(np.arange(n)).groupby([mat, per]).indices if n else {}
    dm = data.demand[data.demand["quantity"] > 0]
    r_, c_ = [], []
    for k, (m_, t_) in enumerate(zip(dm["material"], dm["period"].astype(int))):
        pos = groups.get((m_, t_), np.empty(0, dtype=np.int64))
        r_.append(np.full(len(pos), k))
        c_.append(buy[pos])
        if (m_, t_) in shortfall:
            r_.append([k])
            c_.append([shortfall[m_, t_]])
    if len(dm):
        rc = np.concatenate(r_)
        rows.add(len(dm), rc, np.concatenate(c_), np.ones(len(rc)), dm["quantity"].to_numpy(float), math.inf)

    # offer capacity and minimum order
    k = len(use_at)
    rows.add(k, np.repeat(np.arange(k), 2), np.column_stack([buy[use_at], use[use_at]]).ravel(),
             np.column_stack([np.ones(k), -bound[use_at]]).ravel(), -math.inf, 0.0)
    mo = use_at[min_in_use[use_at] > 0]
    rows.add(len(mo), np.repeat(np.arange(len(mo)), 2), np.column_stack([buy[mo], use[mo]]).ravel(),
             np.column_stack([np.ones(len(mo)), -min_in_use[mo]]).ravel(), 0.0, math.inf)

    # source capacity
    r_, c_, v_, up = [], [], [], []
    by_source = pd.Series(np.arange(n)).groupby([source, per]).indices if n else {}
    for (name, t), pos in by_source.items():
        cap = scap[pos[0]]
        if len(pos) < 2 or math.isnan(cap) or bound[pos].sum() <= cap:
            continue
        gate = [op_su[pos[0]]] if op_su[pos[0]] >= 0 else built(name, int(t)) if candidate[pos[0]] else []
        k = len(up)
        r_.append(np.full(len(pos) + len(gate), k))
        c_.append(np.concatenate([buy[pos], np.asarray(gate, dtype=np.int64)]))
        v_.append(np.concatenate([np.ones(len(pos)), np.full(len(gate), -cap)]))
        up.append(0.0 if gate else cap)
    if up:
        rows.add(len(up), np.concatenate(r_), np.concatenate(c_), np.concatenate(v_), -math.inf, np.asarray(up))

    # source in use, per offer (strong form)
    f = np.flatnonzero(fixed_mask)
    head = np.where(has_use[f], use[f], buy[f])
    coef = np.where(has_use[f], 1.0, bound[f])
    rows.add(len(f), np.repeat(np.arange(len(f)), 2), np.column_stack([head, op_su[f]]).ravel(),
             np.column_stack([np.ones(len(f)), -coef]).ravel(), -math.inf, 0.0)

    # candidates: build once, and nothing before the build + lead time
    r_, c_, v_ = [], [], []
    k = 0
    for name, (opts, _) in options.items():
        if len(opts) > 1:
            r_.append(np.full(len(opts), k))
            c_.append([build_col[name, b] for b in opts])
            v_.append(np.ones(len(opts)))
            k += 1
    gated = []  # (head column, coefficient, Build columns)
    for key, col in su_of.items():
        if key[0] in options:
            gated.append((col, 1.0, built(key[0], int(key[1]))))
    for i in np.flatnonzero(candidate & ~fixed_mask):
        gated.append((use[i], 1.0, built(source[i], int(per[i]))) if has_use[i] else
                     (buy[i], bound[i], built(source[i], int(per[i]))))
    n_once = k
    for col, cf, gate in gated:
        r_.append(np.full(1 + len(gate), k))
        c_.append([col] + gate)
        v_.append([1.0] + [-cf] * len(gate))
        k += 1
    if k:
        rows.add(k, np.concatenate(r_), np.concatenate(c_), np.concatenate(v_), -math.inf,
                 np.concatenate([np.ones(n_once), np.zeros(k - n_once)]))

    # policies: every row collected, then added at once
    share_mt = sorted({(p["material"], p["period"]) for p in instances if p["kind"] == "share"})
    supply = dict(zip(share_mt, columns(np.zeros(len(share_mt)), 0.0, math.inf, False)))
    soft = [p for p in instances if p["soft"]]
    pen = [p["penalty"] * (1.0 if p["period"] == "horizon" else float(disc(p["period"]))) for p in soft]
    violation = dict(zip(map(id, soft), columns(pen, 0.0, math.inf, False)))
    metric = {c: op[c].to_numpy(float) for c in set(METRIC.values()) - {None}}
    r_, c_, v_, lo, up = [], [], [], [], []
    for key in share_mt:
        pos = groups[key]
        c_ += [[supply[key]], buy[pos]]
        v_ += [[1.0], -np.ones(len(pos))]
        r_.append(np.full(len(pos) + 1, len(lo)))
        lo.append(0.0)
        up.append(0.0)
    for p in instances:
        mem = p["members"]
        if p["kind"] == "share":
            cols = np.append(buy[mem], supply[p["material"], p["period"]])
            vals = np.append(np.ones(len(mem)), -p["limit"])
            rhs = 0.0
        elif p["kind"] == "count":
            cols, vals, rhs = use[mem], np.ones(len(mem)), p["limit"]
        else:
            w = np.ones(len(mem)) if METRIC[p["metric"]] is None else metric[METRIC[p["metric"]]][mem]
            nz = w != 0
            cols, vals, rhs = buy[mem][nz], w[nz], p["limit"]
        if p["soft"]:
            cols, vals = np.append(cols, violation[id(p)]), np.append(vals, -1.0 if p["is_max"] else 1.0)
        r_.append(np.full(len(cols), len(lo)))
        c_.append(cols)
        v_.append(vals)
        lo.append(-math.inf if p["is_max"] else rhs)
        up.append(rhs if p["is_max"] else math.inf)
    if lo:
        rows.add(len(lo), np.concatenate(r_), np.concatenate(c_), np.concatenate(v_), np.asarray(lo), np.asarray(up))

    cost = np.concatenate(cols_cost)
    A = sp.csc_matrix((np.concatenate(rows.v), (np.concatenate(rows.r), np.concatenate(rows.c))),
                      shape=(rows.n, len(cost)))
    A.sum_duplicates()
    return Reference(cost=cost, col_lower=np.concatenate(cols_lo), col_upper=np.concatenate(cols_up),
                     integer=np.concatenate(cols_int), A=A, row_lower=np.concatenate(rows.lo),
                     row_upper=np.concatenate(rows.up), seconds=time.perf_counter() - start)


def _instances(data: PlanData, op: pd.DataFrame) -> list[dict]:
    """Policy instances that can bind: kind, is_max, material, period, limit, soft, penalty, metric, members."""
    mat, per = op["material"].to_numpy(), op["period"].to_numpy()
    fields = {f: op[f].to_numpy() for f in FIELDS}
    bound = op["bound"].to_numpy()
    weights = {c: op[c].to_numpy(float) for c in set(METRIC.values()) - {None}}
    everything = np.arange(len(op))
    by_mp = pd.Series(everything).groupby([mat, per]).indices if len(op) else {}
    out = []
    for p in data.policies.to_dict("records"):
        kind = {"share": "share", "sources": "count", "total": "total"}[p["rule"].split("_", 1)[1]]
        is_max = p["rule"].startswith("max_")
        pm, pp, limit = p["material"], p["period"], float(p["limit"])
        if not is_max and limit <= 0:
            continue  # a floor of 0 always holds
        if kind == "total":
            chosen = data.periods if pp is None else (pp,)
            scopes = []
            for t in chosen:
                pos = everything if t == "horizon" else everything[per == t]
                scopes.append((pm, t, pos if pm is None else pos[mat[pos] == pm]))
        else:
            scopes = [(m, int(t), pos) for (m, t), pos in sorted(by_mp.items())
                      if (pm is None or m == pm) and (pp is None or t == pp)]
        for m, t, scope in scopes:
            for members in _selections(p, fields, scope):
                q = dict(kind=kind, is_max=is_max, material=m, period=t, limit=limit, soft=bool(p["soft"]),
                         penalty=p["penalty"], metric=p["metric"], members=members)
                if is_max and _always_holds(q, bound, weights):
                    continue
                if kind == "share" and not is_max and len(members) == len(scope):
                    continue  # the whole scope always has a share of 100%
                out.append(q)
    return out


def _selections(p: dict, fields: dict, scope: np.ndarray) -> list[np.ndarray]:
    if p["terms"]:
        hit = np.zeros(len(scope), bool)
        for f, v in p["terms"]:
            hit |= fields[f][scope] == v
        return [scope[hit]]
    if p["field"] is None:
        return [scope]
    values = fields[p["field"]][scope]
    return [scope[values == v] for v in dict.fromkeys(values)]


def _always_holds(q: dict, bound: np.ndarray, weights: dict) -> bool:
    mem = q["members"]
    if q["kind"] == "share":
        return q["limit"] >= 1 or len(mem) == 0
    if q["kind"] == "count":
        return len(mem) <= q["limit"]
    col = METRIC[q["metric"]]
    w = 1.0 if col is None else weights[col][mem]
    return float((w * bound[mem]).sum()) <= q["limit"]


@dataclass
class Outcome:
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    highs_seconds: float
    pass_seconds: float


def solve(ref: Reference, time_limit_s: float | None = None, mip_gap: float | None = None, threads: int | None = None,
          relax_integrality: bool = False, options: dict | None = None) -> Outcome:
    """Pass ``ref`` to HiGHS in one call and run it with the planner's options and, a MIP, its start
    (the relaxation rounded up, repaired and completed, which may prove the MIP within its gap:
    planner.solver.relaxation_start)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    if mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
        highspy.Highs.resetGlobalScheduler(True)
    lp = relax_integrality or not ref.integer.any()  # an LP gets the planner's LP options
    for k, v in {**(solver.LP_OPTIONS if lp else {}), **(options or {})}.items():
        h.setOptionValue(k, v)
    t = time.perf_counter()
    A = ref.A
    integer = np.zeros(len(ref.cost), np.int32) if relax_integrality else ref.integer.astype(np.int32)
    h.passModel(len(ref.cost), len(ref.row_lower), A.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                0.0, ref.cost, ref.col_lower, ref.col_upper, ref.row_lower, ref.row_upper,
                A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(float), integer)
    passed = time.perf_counter() - t
    started = solver.Start(returned=True)
    if integer.any():
        ints = np.flatnonzero(integer)
        started = solver.relaxation_start(h, ints, ref.col_lower[ints], ref.col_upper[ints],
                                          rows=lambda: solver.integer_rows(A, ref.integer, ref.row_lower, ref.row_upper))
    if not started.proven:
        h.run()
    ms = h.getModelStatus()
    info = h.getInfo()
    has_x = info.primal_solution_status == 2
    mip = bool(integer.any())
    status = h.modelStatusToString(ms)
    objective = float(info.objective_function_value) if has_x else None
    if started.proven:  # the start is within the gap of the relaxation's bound: HiGHS's MIP did not run
        bound, gap = started.bound, started.gap(objective)
    else:
        bound = float(info.mip_dual_bound) if mip else objective
        gap = float(info.mip_gap) if mip else 0.0
    return Outcome(status=status, objective=objective, bound=bound, gap=gap, highs_seconds=h.getRunTime(),
                   pass_seconds=passed)
