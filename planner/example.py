"""The bundled example: a notional US buyer of rare earths and battery materials, 2026–2035.

``planner example PATH`` writes these rows through the template, so the example is a
filled template and nothing else. The buyer is a notional US defense-and-industrial
consortium (magnet, battery and semiconductor makers with government support) choosing
between domestic mines, processors and recyclers, allied and partner producers, and China
as the cheap incumbent foreign entity of concern (FEOC).

Every figure carries a ``notes`` cell: either a short citation of a public figure from
``shared/reference-data`` (mostly USGS Mineral Commodity Summaries 2025 and company
reports; prices converted to USD per tonne: USD/kg × 1,000, USD/lb × 2,204.6) or
``ASSUMPTION: ...`` for an invented number. Capacities on Offers are what a source could
sell *to this buyer* each year (an assumption), not the plant's nameplate, which the note
cites where known. Footprints (CO2e, water, waste) are assumptions throughout: the only
numeric public figure at hand is the ionic-clay mixed-REO footprint of 17.8–24.3 kg CO2e
per kg (Processes 2022, 10(7), 1354).

The data are tables of literals, one row per line; :func:`example_rows` turns them into
rows keyed by the schema's column keys.
"""

from __future__ import annotations

PERIODS = tuple(range(2026, 2036))

# Sources of the figures cited below (short forms used in the notes).
USGS = "USGS MCS 2025"

# --------------------------------------------------------------------------- Settings

SETTINGS = (
    ("plan_name", "US critical-minerals sourcing 2026-2035 (example)",
     "A notional US defense-and-industrial buyer; every figure is cited or marked ASSUMPTION"),
    ("currency", "USD", "All costs in US dollars (real 2024 USD; ASSUMPTION: no inflation)"),
    ("quantity_unit", "t", "Metric tonnes of product (oxide, carbonate, metal or concentrate) everywhere"),
    ("discount_rate", 0.05, "ASSUMPTION: 5%/yr real discount rate"),
    ("base_period", 2026, "Costs discounted to 2026, the first year of the plan"),
    ("carbon_price", 50, "ASSUMPTION: shadow carbon price 50 USD/t CO2e (internal price; not a US statute)"),
    ("risk_price", 200, "ASSUMPTION: 200 USD per t per risk point; per tonne, so it weighs on bulk materials "
                        "(graphite, lithium) and hardly on rare earths or gallium"),
    ("shortage_penalty", 20_000_000, "ASSUMPTION: 20 million USD/t (~16x the dearest price, Tb oxide ~1.2 million "
                                     "USD/t) for Demand rows without their own penalty; every row here has one, "
                                     "10-30x its material's dearest offer, so demand is met whenever supply can "
                                     "meet it and the plan stays solvable when it cannot (bans, surges)"),
    ("time_limit_s", 120, "ASSUMPTION: enough for this size of model"),
    ("mip_gap", 0.0005, "ASSUMPTION: stop within 0.05% of the best possible plan, well inside the accuracy of the "
                        "data (proving 0.01% with the stockpiles takes about 20 s here instead of 5)"),
)

# --------------------------------------------------------------------------- Materials

MATERIALS = (
    ("NdPr", "NdPr oxide", "Neodymium-praseodymium oxide, separated, for NdFeB magnets",
     f"DOE 2023 Critical Materials List (Nd, Pr); price ref. {USGS} Nd oxide 56 USD/kg (2024). "
     "Footprints ASSUMPTION (see Offers)"),
    ("Dy", "Dysprosium oxide", "Dy2O3 99.5% min, for high-temperature magnets",
     f"DOE 2023 Critical Materials List; {USGS} Dy oxide 260 USD/kg (2024)"),
    ("Tb", "Terbium oxide", "Tb4O7 99.99% min, for high-temperature magnets",
     f"DOE 2023 Critical Materials List; {USGS} Tb oxide 810 USD/kg (2024)"),
    ("Li2CO3", "Lithium carbonate", "Battery-grade lithium carbonate (t LCE)",
     f"DOE 2023 Critical Materials List; {USGS} Lithium: battery-grade carbonate 14,000 USD/t (2024)"),
    ("Co", "Cobalt", "Refined cobalt (metal or chemicals), t of contained Co",
     f"DOE 2023 Critical Materials List; {USGS} Cobalt: US spot 17 USD/lb, LME 12 USD/lb (2024)"),
    ("Graphite", "Natural flake graphite", "Flake graphite concentrate (feed for anode material)",
     f"DOE 2023 Critical Materials List; {USGS} Graphite: flake import unit value 1,070 USD/t (2024)"),
    ("Ga", "Gallium", "High-purity refined gallium (6N+) for GaAs/GaN semiconductors",
     f"DOE 2023 Critical Materials List; {USGS} Gallium: high-purity 500 USD/kg (2024)"),
)

# --------------------------------------------------------------------------- Countries
# country, name, bloc, risk_score, tariff, notes

COUNTRIES = (
    ("US", "United States", "domestic", 0.05, 0,
     "ASSUMPTION: risk scores are judgements on a 0-1 scale; US = the buyer's own country"),
    ("AU", "Australia", "ally", 0.10, 0, "ASSUMPTION: risk score; treaty ally, FTA"),
    ("CA", "Canada", "ally", 0.10, 0, "ASSUMPTION: risk score; USMCA partner, NDIS member"),
    ("JP", "Japan", "ally", 0.10, 0, f"ASSUMPTION: risk score; {USGS}: Japan 6% of US RE compound imports 2020-23"),
    ("EE", "Estonia", "ally", 0.15, 0, f"ASSUMPTION: risk score (border with Russia); {USGS}: Estonia 5% of US RE compound imports 2020-23"),
    ("NO", "Norway", "ally", 0.10, 0, "ASSUMPTION: risk score; named among main US cobalt import sources (USGS MCS 2025 via Mint 2025)"),
    ("FI", "Finland", "ally", 0.10, 0, "ASSUMPTION: risk score; named among main US cobalt import sources (USGS MCS 2025 via Mint 2025)"),
    ("MY", "Malaysia", "partner", 0.25, 0, f"ASSUMPTION: risk score; {USGS}: Malaysia 13% of US RE compound imports 2020-23"),
    ("CL", "Chile", "partner", 0.25, 0, "ASSUMPTION: risk score; US FTA partner; named main US lithium import source (USGS MCS 2025 via Mint 2025)"),
    ("AR", "Argentina", "partner", 0.35, 0, "ASSUMPTION: risk score; named main US lithium import source (USGS MCS 2025 via Mint 2025)"),
    ("BR", "Brazil", "other", 0.30, 0, f"ASSUMPTION: risk score; {USGS} Graphite: Brazil 68,000 t mined 2024 (transcribed)"),
    ("MZ", "Mozambique", "other", 0.60, 0, f"ASSUMPTION: risk score (Cabo Delgado insurgency); {USGS} Graphite: 13% of US imports 2020-23 (transcribed)"),
    ("CD", "Congo (Kinshasa)", "other", 0.70, 0, f"ASSUMPTION: risk score; {USGS} Cobalt: DRC ~76% of world mine output 2024"),
    ("CN", "China", "FEOC", 0.90, 0.10,
     f"ASSUMPTION: risk score 0.9 and a 10% baseline tariff on Chinese-origin minerals (US rates changed repeatedly in 2025: "
     f"edit to current); {USGS}: China 70% of US RE compound imports 2020-23"),
)

# --------------------------------------------------------------------------- Sources
# source, name, country, kind, owner, capacity, fixed_cost, status, build_cost, lead_time, earliest_build, risk_score, notes
# Candidates' build_cost is what the buyer would invest (equity, prepayment or grant) to bring
# the plant's offtake to it, not necessarily the plant's whole capex.

_ = None  # a blank cell

SOURCES = (
    # ---- United States: existing
    ("MP-MTN", "MP Materials - Mountain Pass mine and separation (CA)", "US", "mine", "MP Materials", _, 0, "existing", _, _, _, _,
     "MP Materials FY2024 results (Feb 2025): 45,455 t REO mined and 1,294 t NdPr oxide separated in 2024; 'Upstream 60K' plan ~60,000 t REO/yr"),
    ("EF-WM", "Energy Fuels - White Mesa Mill REE separation, Phase 1 (UT)", "US", "processor", "Energy Fuels", _, 0, "existing", _, _, _, _,
     "Energy Fuels (mining.com / Engineering News, Jun 2024): Phase 1 850-1,000 t/yr NdPr, on-spec from Jun 2024; monazite feed"),
    ("REL-NOB", "ReElement Technologies - Noblesville (IN)", "US", "recycler", "ReElement Technologies", _, 0, "existing", _, _, _, _,
     "ReElement (company claim, 2025): 200-250 t/yr separated REO; ASSUMPTION: this line closes after 2030 when Marion takes over"),
    ("RW-NV", "Redwood Materials - battery recycling (NV)", "US", "recycler", "Redwood Materials", _, 0, "existing", _, _, _, _,
     "Redwood (Electric Cars Report, May 2024): ~40,000 t/yr battery-material capacity; 20 GWh of Li-ion recycled in 2024"),
    ("ALB-SP", "Albemarle - Silver Peak lithium brine (NV)", "US", "mine", "Albemarle", _, 0, "existing", _, _, _, _,
     f"{USGS} Lithium: US production withheld (W); net import reliance >50% (2024). ASSUMPTION: volume offered"),
    ("US-GA-REF", "US high-purity gallium refiner (illustrative)", "US", "processor", "US gallium refiner (illustrative)", _, 100_000, "existing", _, _, _, _,
     f"{USGS} Gallium lists the US among high-purity producers (no split). ASSUMPTION: 0.1 million USD/yr fixed cost (qualification, assay)"),
    # ---- United States: candidates (build decisions)
    ("MP-HREE", "MP Materials - heavy rare-earth separation circuit (CA)", "US", "processor", "MP Materials", _, 0, "candidate", 150_000_000, 2, 2026, _,
     "MP/DoD announcement (Jul 2025): 150 million USD DoD loan for HREE separation, used here as build cost. ASSUMPTION: lead time 2 years"),
    ("EF-WM-HREE", "Energy Fuels - White Mesa Phase 2/3 heavy-RE circuit (UT)", "US", "processor", "Energy Fuels", _, 0, "candidate", 120_000_000, 3, 2026, _,
     "Energy Fuels (mining.com, Jun 2024): Phase 2/3 targets Dy 150-225 t/yr, Tb 50-75 t/yr. ASSUMPTION: build cost 120 million USD, lead time 3 years"),
    ("LYN-TX", "Lynas - Seadrift heavy rare-earth facility (TX)", "US", "processor", "Lynas Rare Earths", _, 0, "candidate", 258_000_000, 3, 2026, _,
     "Lynas Annual Report FY2024: US DoD contract 258 million USD (used as build cost); status/timing uncertain. ASSUMPTION: lead time 3 years"),
    ("REL-MAR", "ReElement Technologies - Marion (IN) Phase 1", "US", "recycler", "ReElement Technologies", _, 0, "candidate", 100_000_000, 2, 2026, _,
     "ReElement / Argus (2025): Phase 1 2,000-3,500 t/yr REO + 5,000 t/yr Li planned for 2026 (company claims; sources differ). ASSUMPTION: build cost 100 million USD, lead time 2"),
    ("LAC-TP", "Lithium Americas - Thacker Pass Phase 1 (NV)", "US", "mine", "Lithium Americas", _, 0, "candidate", 600_000_000, 2, 2026, _,
     "ASSUMPTION (not in the reference data): buyer's equity/offtake stake of 600 million USD for 10,000 t/yr; lead time 2 years (construction under way)"),
    ("SWA-AR", "Standard Lithium / Equinor - South West Arkansas DLE", "US", "mine", "Standard Lithium-Equinor JV", _, 0, "candidate", 250_000_000, 3, 2027, _,
     "ASSUMPTION (not in the reference data): direct lithium extraction from Smackover brine; buyer's stake 250 million USD, lead time 3 years, decision from 2027"),
    ("JRV-ICO", "Idaho Cobalt Operations restart with US refining (ID)", "US", "mine", "Jervois Global", _, 0, "candidate", 180_000_000, 3, 2026, _,
     f"{USGS} Cobalt: US mine output 300 t Co (2024), reserves 70,000 t, import reliance 76%. ASSUMPTION: restart and refinery 180 million USD, lead time 3"),
    ("G1-AK", "Graphite One - Graphite Creek mine (AK)", "US", "mine", "Graphite One", _, 0, "candidate", 250_000_000, 4, 2026, _,
     f"{USGS} Graphite: no US natural-graphite mine output (2024), 100% import reliance. ASSUMPTION: buyer's stake 250 million USD, lead time 4 years incl. permits"),
    ("US-GA-REC", "US gallium recovery from alumina/zinc residues (illustrative)", "US", "processor", "US gallium recovery (illustrative)", _, 0, "candidate", 60_000_000, 3, 2026, _,
     f"{USGS} Gallium: no US primary gallium since 1987; 100% import reliant. ASSUMPTION: build cost 60 million USD, lead time 3 years"),
    # ---- allies and partners
    ("LYN-MY", "Lynas - Kuantan separation plant (Mt Weld feed)", "MY", "processor", "Lynas Rare Earths", 740, 0, "existing", _, _, _, _,
     "Lynas Annual Report FY2024: 5,655 t NdPr (FY2024); heavy-RE circuit 1,500 t/yr SEGH feed, first Dy/Tb 2025. ASSUMPTION: 740 t/yr of all products for this buyer"),
    ("ILU-ENB", "Iluka Resources - Eneabba rare-earth refinery (WA)", "AU", "processor", "Iluka Resources", _, 0, "candidate", 120_000_000, 1, 2026, _,
     "Kallanish / NS Energy (Dec 2024): up to 23,000 t/yr REO, commissioning 2027, capex A$1.7-1.8 bn. ASSUMPTION: buyer's prepayment 120 million USD (~10% of capex at 0.65 USD/AUD)"),
    ("NEO-EE", "Neo Performance Materials - NPM Silmet separation (Sillamae)", "EE", "processor", "Neo Performance Materials", _, 0, "existing", _, _, _, _,
     "Argus (2024): separated LREE capacity 3,000 t/yr; Narva magnet plant 2,000 t/yr opened Sep 2025 (Automotive World 2025)"),
    ("JP-RE", "Japanese rare-earth separator (illustrative)", "JP", "processor", "Japanese RE processor (illustrative)", 170, 0, "existing", _, _, _, _,
     f"{USGS}: imports from Japan are made from Australian, Chinese and other concentrates. ASSUMPTION: 170 t/yr of all products for this buyer"),
    ("CYC-CA", "Cyclic Materials - Kingston (ON) magnet-recycling hub", "CA", "recycler", "Cyclic Materials", _, 0, "existing", _, _, _, _,
     "Waste Dive / Recycling Product News (2025): 500 t/yr magnet-rich feed from Q1 2026. ASSUMPTION: sold as oxide after toll separation"),
    ("CA-5N", "5N Plus - high-purity gallium (illustrative)", "CA", "processor", "5N Plus", _, 0, "existing", _, _, _, _,
     f"{USGS} Gallium lists Canada among high-purity producers (no split). ASSUMPTION: volumes"),
    ("JP-GA", "Japanese high-purity gallium refiner and recycler (illustrative)", "JP", "processor", "Japanese Ga refiner (illustrative)", _, 0, "existing", _, _, _, _,
     f"{USGS} Gallium: Japan 3,000 kg primary Ga (2024e); world secondary high-purity capacity 280,000 kg/yr from new scrap"),
    ("SYR-MZ", "Syrah Resources - Balama graphite mine", "MZ", "mine", "Syrah Resources", _, 300_000, "existing", _, _, _, _,
     f"{USGS} Graphite: Mozambique 75,000 t (2024e, transcribed). ASSUMPTION: 0.3 million USD/yr fixed cost (security, logistics)"),
    ("CA-GR", "Canadian flake-graphite producers (aggregate)", "CA", "mine", "Canadian graphite producers", _, 0, "existing", _, _, _, _,
     f"{USGS} Graphite: Canada 20,000 t (2024e, transcribed); 13% of US imports 2020-23"),
    ("NMG-CA", "Nouveau Monde Graphite - Matawinie mine (QC)", "CA", "mine", "Nouveau Monde Graphite", _, 0, "candidate", 150_000_000, 3, 2026, _,
     "ASSUMPTION (not in the reference data): buyer's equity/offtake stake 150 million USD, lead time 3 years; hydro-powered"),
    ("BR-GR", "Brazilian flake-graphite producers (aggregate)", "BR", "mine", "Brazilian graphite producers", _, 0, "existing", _, _, _, _,
     f"{USGS} Graphite: Brazil 68,000 t (2024e, transcribed); reserves 74 Mt"),
    ("CL-SQM", "SQM - Salar de Atacama lithium carbonate", "CL", "mine", "SQM", _, 0, "existing", _, _, _, _,
     f"{USGS} Lithium: Chile 49,000 t Li mined (2024e)"),
    ("CL-ALB", "Albemarle - La Negra lithium carbonate plant", "CL", "processor", "Albemarle", _, 0, "existing", _, _, _, _,
     f"{USGS} Lithium: Chile 49,000 t Li mined (2024e). Same owner as ALB-SP"),
    ("AR-CO", "Cauchari-Olaroz (Minera Exar), Jujuy", "AR", "mine", "Ganfeng Lithium", _, 0, "existing", _, _, _, 0.50,
     f"{USGS} Lithium: Argentina 18,000 t Li mined (2024e). ASSUMPTION: Ganfeng-led (verify), i.e. FEOC by ownership, not country: risk 0.5"),
    ("NO-NKV", "Glencore - Nikkelverk refinery (Kristiansand)", "NO", "processor", "Glencore", _, 0, "existing", _, _, _, _,
     "Norway named among main US cobalt import sources (USGS MCS 2025 via Mint, Apr 2025)"),
    ("FI-KOK", "Umicore - Kokkola cobalt refinery", "FI", "processor", "Umicore", _, 0, "existing", _, _, _, _,
     "Finland named among main US cobalt import sources (USGS MCS 2025 via Mint, Apr 2025)"),
    ("JP-SMM", "Sumitomo Metal Mining - Niihama refinery", "JP", "processor", "Sumitomo Metal Mining", _, 0, "existing", _, _, _, _,
     "Japan named among main US cobalt import sources (USGS MCS 2025 via Mint, Apr 2025)"),
    ("CD-TFM", "CMOC - Tenke Fungurume (hydroxide, toll-refined)", "CD", "mine", "CMOC Group", _, 500_000, "existing", _, _, _, 0.80,
     f"{USGS} Cobalt: DRC 220,000 t Co (2024e), reserves 6 Mt. ASSUMPTION: Chinese-owned, risk 0.8; 0.5 million USD/yr due-diligence audits"),
    # ---- China (FEOC)
    ("CN-NORTH", "China Northern Rare Earth (Baotou, Bayan Obo feed)", "CN", "processor", "China Northern Rare Earth", _, 0, "existing", _, _, _, _,
     f"{USGS}: China 270,000 t REO mined (2024e, quota), reserves 44 Mt; 70% of US RE compound imports 2020-23"),
    ("CN-REG", "China Rare Earth Group (southern ionic clays)", "CN", "processor", "China Rare Earth Group", _, 0, "existing", _, _, _, _,
     f"{USGS}: China 270,000 t REO mined (2024e); Burma 31,000 t (2024e) largely processed in China"),
    ("CN-TRD", "Hong Kong metals trader (illustrative)", "CN", "trader", "Hong Kong trader (illustrative)", _, 250_000, "existing", _, _, _, 1.00,
     "ASSUMPTION: re-exports Chinese/Myanmar HREE and gallium; risk 1.0 (provenance unknown); 0.25 million USD/yr compliance screening"),
    ("CN-GF", "Ganfeng Lithium - Jiangxi conversion plants", "CN", "processor", "Ganfeng Lithium", _, 0, "existing", _, _, _, _,
     f"{USGS} Lithium: China 41,000 t Li mined (2024e) and the largest converter; same owner as AR-CO"),
    ("CN-TQ", "Tianqi Lithium - Sichuan conversion plants", "CN", "processor", "Tianqi Lithium", _, 0, "existing", _, _, _, _,
     f"{USGS} Lithium: China 41,000 t Li mined (2024e)"),
    ("CN-HY", "Zhejiang Huayou Cobalt - refined cobalt", "CN", "processor", "Zhejiang Huayou Cobalt", _, 0, "existing", _, _, _, _,
     "IEA GCMO 2025: China the top refiner of cobalt (top-3 refiners 86% avg. share, 2024)"),
    ("CN-GEM", "GEM Co - cobalt from recycling and intermediates", "CN", "recycler", "GEM Co", _, 0, "existing", _, _, _, _,
     "Mexico Business News (May 2025) on IEA: ~2/3 of battery-recycling capacity growth since 2020 in China"),
    ("CN-HLJ", "Heilongjiang flake-graphite producers (aggregate)", "CN", "mine", "Heilongjiang graphite producers", _, 0, "existing", _, _, _, _,
     f"{USGS} Graphite: China 1,270,000 t (2024e, transcribed); 43% of US imports 2020-23"),
    ("CN-IM", "Inner Mongolia flake-graphite producers (aggregate)", "CN", "mine", "Inner Mongolia graphite producers", _, 0, "existing", _, _, _, _,
     f"{USGS} Graphite: China 1,270,000 t (2024e, transcribed); reserves 81 Mt"),
    ("CN-CHALCO", "Chalco - gallium from alumina refining", "CN", "processor", "Aluminum Corporation of China", _, 0, "existing", _, _, _, _,
     f"{USGS} Gallium: China 750,000 kg primary Ga (2024e), 99% of world. China banned Ga exports to the US in Dec 2024 "
     f"({USGS} Germanium); ASSUMPTION: licensed exports available from 2026"),
)

# --------------------------------------------------------------------------- Offers
# source, material, unit_cost USD/t, capacity t/yr, min_order t, contract_cost USD/yr,
# co2e t/t, water m3/t, waste t/t, first_period, last_period, tariff, notes.
# Unless stated, capacity is ASSUMPTION (volume offered to this buyer) and the footprint is
# ASSUMPTION (ranked after Marx et al. 2018: Mountain Pass route best, Chinese route worst;
# ionic clay 17.8-24.3 kg CO2e/kg mixed REO, Processes 2022).

FP = "footprint ASSUMPTION"

OFFERS = (
    # ---- NdPr oxide (China 44-60 USD/kg ex-VAT in 2023-24)
    ("CN-NORTH", "NdPr", 49_000, _, _, _, 30, 150, 60, _, _, _,
     f"China NdPr ex-VAT 49 USD/kg (Dec 2024, Lynas H1 FY2025 via Australian Mining); capacity unlimited; {FP}"),
    ("CN-REG", "NdPr", 52_000, _, _, _, 30, 200, 80, _, _, _,
     f"ASSUMPTION: +6% on China NdPr 49 USD/kg (Dec 2024); capacity unlimited; {FP}"),
    ("MP-MTN", "NdPr", 60_000, 800, 200, 1_000_000, 15, 100, 40, _, _, _,
     f"ASSUMPTION: above MP realized 51 USD/kg (2024, MP 10-K); the DoD floor of 110 USD/kg (Jul 2025) is a government top-up to MP, not the buyer's price. "
     f"Take-or-pay 200 t/yr and 1 million USD/yr contract ASSUMPTION; {FP} (best route, Marx et al. 2018)"),
    ("EF-WM", "NdPr", 66_000, 400, _, _, 20, 120, 30, _, _, _, f"ASSUMPTION: price; of 850-1,000 t/yr Phase 1 (Energy Fuels 2024); {FP}"),
    ("REL-NOB", "NdPr", 80_000, 80, _, _, 6, 40, 5, _, 2030, _, f"ASSUMPTION: recycled premium; of 200-250 t/yr REO (ReElement 2025); {FP}"),
    ("REL-MAR", "NdPr", 75_000, 300, _, _, 6, 40, 5, _, _, _, f"ASSUMPTION: price and volume, of 2,000-3,500 t/yr REO planned (ReElement/Argus 2025); {FP}"),
    ("LYN-MY", "NdPr", 63_000, 700, 100, 500_000, 20, 120, 50, _, _, _,
     f"ASSUMPTION: ex-China premium ~30% on 49 USD/kg; of 5,655 t NdPr (Lynas FY2024); min 100 t and 0.5 million USD/yr contract ASSUMPTION; "
     f"{FP} (Mt Weld renewables -60,000 t CO2/yr, Lynas 2024 AGM)"),
    ("ILU-ENB", "NdPr", 65_000, 500, _, _, 20, 120, 40, _, _, _, f"ASSUMPTION: price and volume, of up to 23,000 t/yr REO (Kallanish 2024); {FP}"),
    ("NEO-EE", "NdPr", 68_000, 250, _, _, 20, 100, 30, _, _, _, f"ASSUMPTION: price; of 3,000 t/yr separated LREE (Argus 2024); {FP}"),
    ("JP-RE", "NdPr", 70_000, 150, _, _, 22, 100, 30, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("CYC-CA", "NdPr", 78_000, 60, _, _, 6, 40, 5, 2026, _, _, f"ASSUMPTION: price; of 500 t/yr feed from Q1 2026 (Cyclic 2025); {FP}"),
    # ---- Dy oxide (USGS: 260 USD/kg in 2024, China market)
    ("CN-REG", "Dy", 260_000, _, _, _, 24.3, 400, 200, _, _, _,
     f"{USGS}: Dy oxide 260 USD/kg (2024); footprint = top of ionic-clay 17.8-24.3 kg CO2e/kg REO (Processes 2022, mass allocation); water/waste ASSUMPTION"),
    ("CN-NORTH", "Dy", 270_000, 10, _, _, 30, 150, 60, _, _, _, f"ASSUMPTION: +4% on 260 USD/kg ({USGS}); Bayan Obo is light-RE rich, so little Dy; {FP}"),
    ("CN-TRD", "Dy", 290_000, 20, _, _, 30, 500, 250, _, _, _, f"ASSUMPTION: trader margin +12% on 260 USD/kg ({USGS}); {FP}"),
    ("MP-HREE", "Dy", 400_000, 40, _, _, 18, 150, 40, _, _, _, f"ASSUMPTION: ex-China price ~1.5x {USGS} 260 USD/kg; volume; {FP}"),
    ("EF-WM-HREE", "Dy", 390_000, 70, _, _, 20, 150, 40, _, _, _, f"ASSUMPTION: price; of Dy 150-225 t/yr target (Energy Fuels 2024); {FP}"),
    ("LYN-TX", "Dy", 400_000, 50, _, _, 18, 150, 40, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("REL-NOB", "Dy", 420_000, 5, _, _, 6, 40, 5, _, 2030, _, f"ASSUMPTION: recycled premium and volume; {FP}"),
    ("LYN-MY", "Dy", 380_000, 50, _, _, 20, 150, 60, _, _, _, f"ASSUMPTION: price; share of the 1,500 t/yr SEGH circuit (Lynas Q4 FY24); {FP}"),
    ("ILU-ENB", "Dy", 380_000, 30, _, _, 20, 150, 50, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("JP-RE", "Dy", 400_000, 25, _, _, 22, 150, 40, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("CYC-CA", "Dy", 420_000, 3, _, _, 6, 40, 5, 2026, _, _, f"ASSUMPTION: recycled premium and volume; {FP}"),
    # ---- Tb oxide (USGS: 810 USD/kg in 2024)
    ("CN-REG", "Tb", 810_000, _, _, _, 24.3, 400, 200, _, _, _,
     f"{USGS}: Tb oxide 810 USD/kg (2024); footprint = top of ionic-clay range (Processes 2022); water/waste ASSUMPTION"),
    ("CN-TRD", "Tb", 880_000, 5, _, _, 30, 500, 250, _, _, _, f"ASSUMPTION: trader margin +9% on 810 USD/kg ({USGS}); {FP}"),
    ("MP-HREE", "Tb", 1_200_000, 10, _, _, 18, 150, 40, _, _, _, f"ASSUMPTION: ex-China price ~1.5x {USGS} 810 USD/kg; volume; {FP}"),
    ("EF-WM-HREE", "Tb", 1_150_000, 20, _, _, 20, 150, 40, _, _, _, f"ASSUMPTION: price; of Tb 50-75 t/yr target (Energy Fuels 2024); {FP}"),
    ("LYN-TX", "Tb", 1_200_000, 12, _, _, 18, 150, 40, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("LYN-MY", "Tb", 1_150_000, 12, _, _, 20, 150, 60, _, _, _, f"ASSUMPTION: price and volume (Lynas first Dy/Tb 2025); {FP}"),
    ("ILU-ENB", "Tb", 1_150_000, 6, _, _, 20, 150, 50, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    ("JP-RE", "Tb", 1_200_000, 6, _, _, 22, 150, 40, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    # ---- lithium carbonate (USGS: 14,000 USD/t avg 2024; China spot 9,400 USD/t Nov 2024)
    ("CN-GF", "Li2CO3", 9_500, _, _, _, 15, 80, 8, _, _, _,
     f"{USGS} Lithium: China carbonate spot 9,400 USD/t (Nov 2024); capacity unlimited; {FP} (spodumene conversion, coal power)"),
    ("CN-TQ", "Li2CO3", 9_800, _, _, _, 15, 80, 8, _, _, _, f"ASSUMPTION: +4% on China spot 9,400 USD/t (Nov 2024, {USGS}); {FP}"),
    ("CL-SQM", "Li2CO3", 11_500, 10_000, 1_000, 250_000, 3, 500, 10, _, _, _,
     f"ASSUMPTION: below the 14,000 USD/t 2024 average ({USGS}); min 1,000 t and 0.25 million USD/yr contract ASSUMPTION; {FP} (brine evaporation)"),
    ("CL-ALB", "Li2CO3", 12_000, 5_000, _, _, 3, 500, 10, _, _, _, f"ASSUMPTION: price and volume; {FP} (brine)"),
    ("AR-CO", "Li2CO3", 11_000, 6_000, _, _, 3, 500, 10, _, _, _, f"ASSUMPTION: price and volume; {FP} (brine)"),
    ("ALB-SP", "Li2CO3", 14_000, 3_000, _, _, 4, 400, 8, _, _, _, f"{USGS} Lithium: battery-grade carbonate 14,000 USD/t (2024); volume ASSUMPTION; {FP}"),
    ("LAC-TP", "Li2CO3", 15_000, 10_000, _, _, 8, 50, 30, _, _, _, f"ASSUMPTION: price; 10,000 t/yr share of Phase 1 (not in the reference data); {FP} (clay, acid leach)"),
    ("SWA-AR", "Li2CO3", 14_500, 5_000, _, _, 3, 30, 2, _, _, _, f"ASSUMPTION: price and volume; {FP} (DLE)"),
    ("RW-NV", "Li2CO3", 16_000, 2_500, _, _, 4, 20, 1, _, _, _,
     f"ASSUMPTION: price and volume, of ~40,000 t/yr battery material (Redwood 2024); {FP} (Redwood claims -70% CO2, -80% water vs mined)"),
    ("REL-MAR", "Li2CO3", 16_500, 2_000, _, _, 5, 30, 2, _, _, _, f"ASSUMPTION: price; of 5,000 t/yr Li planned (Argus 2025); {FP}"),
    # ---- cobalt (USGS 2024: US spot 17 USD/lb = 37,478 USD/t; LME 12 USD/lb = 26,455 USD/t)
    ("CN-HY", "Co", 27_000, _, _, _, 25, 60, 20, _, _, _, f"{USGS} Cobalt: LME 12 USD/lb (2024) = 26,455 USD/t, rounded up; capacity unlimited; {FP}"),
    ("CN-GEM", "Co", 28_000, _, _, _, 15, 40, 10, _, _, _, f"ASSUMPTION: +6% on LME 12 USD/lb (2024, {USGS}); capacity unlimited; {FP}"),
    ("CD-TFM", "Co", 30_000, 1_000, _, _, 20, 80, 150, _, _, _, f"ASSUMPTION: all-in price after toll refining; volume; {FP}"),
    ("NO-NKV", "Co", 37_500, 800, 100, 100_000, 15, 50, 10, _, _, _,
     f"{USGS} Cobalt: US spot 17 USD/lb (2024) = 37,478 USD/t; min 100 t and 0.1 million USD/yr contract ASSUMPTION; {FP}"),
    ("FI-KOK", "Co", 38_000, 800, _, _, 15, 50, 10, _, _, _, f"ASSUMPTION: +1% on US spot 17 USD/lb (2024, {USGS}); {FP}"),
    ("JP-SMM", "Co", 39_000, 500, _, _, 15, 50, 10, _, _, _, f"ASSUMPTION: +4% on US spot 17 USD/lb (2024, {USGS}); {FP}"),
    ("RW-NV", "Co", 40_000, 400, _, _, 8, 20, 2, _, _, _, f"ASSUMPTION: recycled premium and volume; {FP}"),
    ("JRV-ICO", "Co", 42_000, 800, _, _, 18, 60, 120, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    # ---- natural flake graphite (USGS: US import unit value 1,070 USD/t in 2024)
    ("CN-HLJ", "Graphite", 800, _, _, _, 2.0, 6, 10, _, _, _, f"ASSUMPTION: below the 1,070 USD/t import unit value ({USGS}, 2024); capacity unlimited; {FP} (coal power)"),
    ("CN-IM", "Graphite", 850, _, _, _, 2.0, 6, 10, _, _, _, f"ASSUMPTION: price; capacity unlimited; {FP}"),
    ("SYR-MZ", "Graphite", 950, 15_000, 3_000, 250_000, 1.0, 5, 12, _, _, _,
     f"ASSUMPTION: price; of 75,000 t Mozambique output (2024e, {USGS}); min 3,000 t and 0.25 million USD/yr contract ASSUMPTION; {FP}"),
    ("BR-GR", "Graphite", 1_000, 8_000, _, _, 1.0, 5, 10, _, _, _, f"ASSUMPTION: price; of 68,000 t Brazil output (2024e, {USGS}); {FP}"),
    ("CA-GR", "Graphite", 1_250, 5_000, _, _, 0.4, 4, 10, _, _, _, f"ASSUMPTION: price; of 20,000 t Canada output (2024e, {USGS}); {FP} (hydro power)"),
    ("NMG-CA", "Graphite", 1_300, 10_000, _, _, 0.3, 4, 10, _, _, _, f"ASSUMPTION: price and volume; {FP} (all-electric mine plan)"),
    ("G1-AK", "Graphite", 1_500, 10_000, _, _, 1.2, 5, 10, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
    # ---- gallium (USGS: high-purity 500 USD/kg in 2024, 450 USD/kg in 2023)
    ("CN-CHALCO", "Ga", 450_000, _, _, _, 40, 300, 500, _, _, _,
     f"{USGS} Gallium: high-purity import unit value 450 USD/kg (2023); capacity unlimited; {FP} (by-product of alumina; energy-intensive)"),
    ("CN-TRD", "Ga", 520_000, 3, _, _, 40, 300, 500, _, _, 0.25,
     f"ASSUMPTION: trader price; offer tariff 25% (re-exports treated as Chinese origin, overrides the country's 10%); {FP}"),
    ("JP-GA", "Ga", 550_000, 6, _, _, 15, 150, 50, _, _, _, f"ASSUMPTION: +10% on {USGS} high-purity 500 USD/kg (2024); volume; {FP}"),
    ("CA-5N", "Ga", 550_000, 6, _, _, 12, 150, 50, _, _, _, f"ASSUMPTION: +10% on {USGS} high-purity 500 USD/kg (2024); volume; {FP}"),
    ("US-GA-REF", "Ga", 600_000, 3, _, _, 15, 150, 40, _, _, _, f"ASSUMPTION: +20% on {USGS} high-purity 500 USD/kg (2024); volume; {FP}"),
    ("US-GA-REC", "Ga", 650_000, 8, _, _, 20, 200, 300, _, _, _, f"ASSUMPTION: price and volume; {FP}"),
)

# --------------------------------------------------------------------------- Demand
# Tonnes per year 2026..2035 for the notional buyer (ASSUMPTION), anchored on public figures.

DEMAND = {
    "NdPr": ((1200, 1300, 1400, 1510, 1630, 1760, 1900, 2060, 2220, 2400),
             f"ASSUMPTION: 1,200 t in 2026 (~18% of US apparent RE consumption 6,600 t REO, {USGS}, 2024; ~40% of the "
             "NdPr in MP's planned 10,000 t/yr of magnets at ~30% NdPr), +8%/yr"),
    "Dy": ((80, 86, 93, 101, 109, 118, 127, 137, 148, 160),
           "ASSUMPTION: ~1/15 of NdPr tonnage (high-temperature magnet grades), +8%/yr"),
    "Tb": ((20, 22, 23, 25, 27, 29, 32, 34, 37, 40), "ASSUMPTION: ~1/4 of Dy tonnage, +8%/yr"),
    "Li2CO3": ((15000, 16500, 18200, 20000, 22000, 24200, 26600, 29200, 32200, 35400),
               f"ASSUMPTION: 15,000 t LCE in 2026 (~20-25 GWh of cells at ~0.65 kg LCE/kWh), +10%/yr; US import reliance >50% ({USGS}, 2024)"),
    "Co": ((2500, 2600, 2700, 2810, 2920, 3040, 3160, 3290, 3420, 3560),
           f"ASSUMPTION: 2,500 t in 2026 (superalloys, batteries), +4%/yr; US import reliance 76% ({USGS}, 2024)"),
    "Graphite": ((20000, 21600, 23300, 25200, 27200, 29400, 31700, 34300, 37000, 40000),
                 f"ASSUMPTION: 20,000 t flake in 2026, +8%/yr; US import reliance 100% ({USGS}, 2024, transcribed)"),
    "Ga": ((15, 16, 17, 18, 19, 20, 21.5, 22.5, 24, 25.5),
           f"ASSUMPTION: 15 t in 2026 (~5% of world high-purity output 320 t, {USGS}, 2024), +6%/yr; US import reliance 100%"),
}

# Cost of a tonne not supplied, per material (USD/t): ASSUMPTION, 10-30x the material's
# dearest offer, so that a shortfall only happens when no plan can meet demand (a ban, a
# surge) and a scenario's total stays readable. Rows left blank would take the setting.
SHORTAGE_PENALTY = {
    "NdPr": 1_000_000, "Dy": 5_000_000, "Tb": 15_000_000, "Li2CO3": 500_000, "Co": 500_000,
    "Graphite": 45_000, "Ga": 10_000_000,
}

# --------------------------------------------------------------------------- Tariffs
# country, material (blank = all), period (blank = all), rate, notes.  A more specific row
# overrides a less specific one; any row overrides the offer's and the country's tariff.

TARIFFS = (
    ("CN", "Graphite", _, 0.25,
     "ASSUMPTION modelled on the USTR Section 301 four-year review (May 2024): 25% on Chinese natural graphite from 2026 (not in the reference data; verify)"),
    ("CN", "NdPr", 2028, 0.15, "ASSUMPTION: hypothetical escalation on Chinese separated RE oxides, step 1"),
    ("CN", "NdPr", 2029, 0.20, "ASSUMPTION: hypothetical escalation, step 2"),
    ("CN", _, 2030, 0.25, "ASSUMPTION: hypothetical 25% on all Chinese-origin materials from 2030 (graphite keeps its own row)"),
    ("CN", _, 2031, 0.25, "ASSUMPTION: as 2030"),
    ("CN", _, 2032, 0.25, "ASSUMPTION: as 2030"),
    ("CN", _, 2033, 0.25, "ASSUMPTION: as 2030"),
    ("CN", _, 2034, 0.25, "ASSUMPTION: as 2030"),
    ("CN", _, 2035, 0.25, "ASSUMPTION: as 2030"),
)

# --------------------------------------------------------------------------- Policies
# policy, rule, selection, material, period, metric, limit, enforcement, penalty, notes

_FEOC = "ASSUMPTION: FEOC glide path modelled on sourcing rules that phase out FEOC content over time"
FEOC_OWNERS = "Ganfeng Lithium|Tianqi Lithium|CMOC Group|Zhejiang Huayou Cobalt|GEM Co"

POLICIES = (
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2026, _, 0.50, "hard", _, f"{_FEOC}: at most 50% of each material from China in 2026"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2027, _, 0.40, "hard", _, f"{_FEOC}: 40% in 2027"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2028, _, 0.30, "hard", _, f"{_FEOC}: 30% in 2028"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2029, _, 0.20, "hard", _, f"{_FEOC}: 20% in 2029"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2030, _, 0.10, "hard", _, f"{_FEOC}: 10% from 2030 on"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2031, _, 0.10, "hard", _, f"{_FEOC}: 10%"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2032, _, 0.10, "hard", _, f"{_FEOC}: 10%"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2033, _, 0.10, "hard", _, f"{_FEOC}: 10%"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2034, _, 0.10, "hard", _, f"{_FEOC}: 10%"),
    ("feoc-cap", "max_share", "bloc=FEOC", _, 2035, _, 0.10, "hard", _, f"{_FEOC}: 10%"),
    ("country-cap", "max_share", "country=*", _, _, _, 0.50, "hard", _,
     "ASSUMPTION: no single country (the US included) above 50% of any material in any year"),
    ("feoc-owned", "max_share", f"owner={FEOC_OWNERS}", _, _, _, 0.20, "soft", 5_000,
     "ASSUMPTION: Chinese parent companies wherever they operate (AR-CO in Argentina, CD-TFM in DRC) at most 20%; "
     "soft (5,000 USD per t above) because ownership data are uncertain"),
    ("domestic-or-recycled-ndpr", "min_share", "bloc=domestic|kind=recycler", "NdPr", _, _, 0.25, "hard", _,
     "ASSUMPTION: at least 25% of NdPr oxide domestic or recycled (a recycler abroad counts, and a US source once)"),
    ("recycled-ndpr", "min_share", "kind=recycler", "NdPr", _, _, 0.05, "hard", _,
     "ASSUMPTION: at least 5% of NdPr oxide recycled"),
    ("domestic-floor", "min_share", "bloc=domestic", _, _, _, 0.25, "soft", 5_000,
     "ASSUMPTION: aim for 25% domestic supply of every material; soft at 5,000 USD per t short, which steers bulk "
     "materials (graphite, lithium) but barely the dear ones (write per-material rows to steer those)"),
    ("two-sources", "min_sources", "all", _, _, _, 2, "hard", _, "ASSUMPTION: at least two offers in use per material and year"),
    ("one-site-per-owner", "max_sources", "owner=*", "NdPr", _, _, 1, "hard", _,
     "ASSUMPTION: one contract per company for NdPr (so two sources means two companies); binds ReElement's two plants"),
    ("mp-offtake", "min_total", "source=MP-MTN", "NdPr", _, "quantity", 300, "hard", _,
     "ASSUMPTION: offtake commitment of at least 300 t/yr NdPr from Mountain Pass"),
    ("co2e-cap", "max_total", "all", _, _, "co2e", 280_000, "hard", _,
     "ASSUMPTION: at most 280,000 t CO2e per year over all purchases"),
    ("water-cap", "max_total", "all", _, "horizon", "water", 90_000_000, "soft", 1,
     "ASSUMPTION: 90 million m3 of water over 2026-2035; soft at 1 USD per m3 above"),
    ("budget", "max_total", "all", _, _, "spend", 1_000_000_000, "hard", _,
     "ASSUMPTION: purchase budget 1 billion USD per year (unit cost x (1 + tariff); build, contract and fixed costs excluded)"),
)

# --------------------------------------------------------------------------- Stockpile
# material, initial_stock, holding_cost, min_reserve, reserve_unit, max_stock, release_cost, notes
# The National Defense Stockpile holds strategic materials against a supply cut; its FY2024-25
# potential acquisitions included NdPr oxide (USGS MCS 2025, Rare earths, Government Stockpile).
# Holding costs are storage, insurance and the capital tied up, taken as 3% a year of the price.

STOCKPILE = (
    ("Dy", 40, 7_800, 0.5, "periods", 200, 2_000,
     f"ASSUMPTION: reserve of 6 months of next year's demand (half a period); 40 t on hand; holding 3%/yr of "
     f"{USGS} Dy oxide 260 USD/kg; release (handling, requalification) 2,000 USD/t; warehouse for 200 t"),
    ("Tb", 10, 24_300, 0.5, "periods", 60, 5_000,
     f"ASSUMPTION: reserve of 6 months of next year's demand; 10 t on hand; holding 3%/yr of {USGS} Tb oxide "
     "810 USD/kg; release 5,000 USD/t; room for 60 t"),
    ("NdPr", 0, 1_700, 150, "quantity", 1_000, 500,
     f"ASSUMPTION: a 150 t floor, cf. NdPr oxide among the NDS's FY2024-25 potential acquisitions ({USGS}); "
     "holding 3%/yr of ~56 USD/kg; release 500 USD/t; room for 1,000 t"),
    ("Ga", 0, 15_000, 0.25, "periods", 20, 2_000,
     f"ASSUMPTION: 3 months of next year's demand after China's Dec 2024 gallium export ban ({USGS}); "
     f"holding 3%/yr of {USGS} high-purity gallium ~500 USD/kg; release 2,000 USD/t; room for 20 t"),
)

# --------------------------------------------------------------------------- Scenarios
# scenario, sheet, column, where, period, operation, value, probability, notes

SCENARIOS = (
    ("china-ban-2027-2029", "Offers", "capacity", "country=CN", "2027-2029", "scale", 0, 0.15,
     "ASSUMPTION: China stops exports of all seven materials to the US for 2027-2029 (cf. the Dec 2024 Ga/Ge ban, USGS MCS 2025); probability 15%"),
    ("feoc-tariff-25", "Countries", "tariff", "bloc=FEOC", _, "set", 0.25, 0.25,
     "ASSUMPTION: 25% tariff on FEOC countries from 2026 (Tariffs rows still override); probability 25%"),
    ("demand-surge", "Demand", "quantity", _, "2028-2030", "scale", 1.5, 0.10,
     "ASSUMPTION: +50% demand for every material in 2028-2030 (defense surge); probability 10%"),
    ("escalation-2028", "Offers", "capacity", "country=CN", "2028-2030", "scale", 0, 0.05,
     "ASSUMPTION: China ban 2028-2030 together with a 30% demand surge (two rows, one scenario); probability 5%"),
    ("escalation-2028", "Demand", "quantity", _, "2028-2030", "scale", 1.3, 0.05,
     "ASSUMPTION: the surge half of the escalation scenario"),
)

# --------------------------------------------------------------------------- rows

COLUMNS = {
    "Materials": ("material", "name", "description", "notes"),
    "Countries": ("country", "name", "bloc", "risk_score", "tariff", "notes"),
    "Sources": ("source", "name", "country", "kind", "owner", "capacity", "fixed_cost", "status", "build_cost",
                "lead_time", "earliest_build", "risk_score", "notes"),
    "Offers": ("source", "material", "unit_cost", "capacity", "min_order", "contract_cost", "co2e", "water", "waste",
               "first_period", "last_period", "tariff", "notes"),
    "Tariffs": ("country", "material", "period", "rate", "notes"),
    "Stockpile": ("material", "initial_stock", "holding_cost", "min_reserve", "reserve_unit", "max_stock", "release_cost",
                  "notes"),
    "Policies": ("policy", "rule", "selection", "material", "period", "metric", "limit", "enforcement", "penalty",
                 "notes"),
    "Scenarios": ("scenario", "sheet", "column", "where", "period", "operation", "value", "probability", "notes"),
}

TABLES = {
    "Materials": MATERIALS,
    "Countries": COUNTRIES,
    "Sources": SOURCES,
    "Offers": OFFERS,
    "Tariffs": TARIFFS,
    "Stockpile": STOCKPILE,
    "Policies": POLICIES,
    "Scenarios": SCENARIOS,
}


def _rows(columns: tuple[str, ...], table) -> list[dict]:
    out = []
    for values in table:
        assert len(values) == len(columns), (columns[0], values[0], len(values))
        out.append({k: v for k, v in zip(columns, values) if v is not None})
    return out


def example_rows() -> dict[str, list[dict]]:
    """The example's rows per sheet, keyed by the schema's column keys (blank cells left out)."""
    rows = {"Settings": [{"setting": k, "value": v, "notes": n} for k, v, n in SETTINGS]}
    for sheet in ("Materials", "Countries", "Sources", "Offers"):
        rows[sheet] = _rows(COLUMNS[sheet], TABLES[sheet])
    rows["Demand"] = [
        {"material": m, "period": p, "quantity": q, "shortage_penalty": SHORTAGE_PENALTY[m],
         "notes": f"{note}; shortage penalty ASSUMPTION"}
        for m, (quantities, note) in DEMAND.items()
        for p, q in zip(PERIODS, quantities, strict=True)
    ]
    for sheet in ("Stockpile", "Tariffs", "Policies", "Scenarios"):
        rows[sheet] = _rows(COLUMNS[sheet], TABLES[sheet])
    return rows
