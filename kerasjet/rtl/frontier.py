"""The AUC-versus-cost frontier of firmware designs: which rows a trigger designer would pick.

A row is a dict with at least 'model', 'family', 'n_constituents', 'auc' and 'cost' (one figure
of logic: LUT + 55·DSP in benchmarks/firmware.py). At each N a row is on the frontier when no
other row at that N has a higher AUC at a cost no larger, or the same AUC at a lower cost. AUCs
are compared as the tables print them, to AUC_DIGITS decimals: a design that gains 10⁻⁷ AUC for
twice the logic is not a choice anyone would make, and the verdicts never contradict the printed
numbers.
"""


DSP_IN_LUTS = 55  # one DSP counted as 55 LUTs in the single cost figure
AUC_DIGITS = 4  # decimals of the AUC in the tables, and in the frontier's comparisons
FAMILY_MARKERS = {"nanoPELICAN": "o", "pT-sorted MLP": "s", "Deep Sets": "P", "hls4ml-style tagger": "^"}


def dominated_by(row, rows):
    """The best row at the same N that beats ``row`` (higher AUC at no larger cost, or the same AUC
    at a lower cost; AUCs to AUC_DIGITS decimals), or None when ``row`` is on the frontier."""
    def shown(r):
        return round(r["auc"], AUC_DIGITS)

    better = [other for other in rows if other is not row and other["n_constituents"] == row["n_constituents"]
              and ((shown(other) > shown(row) and other["cost"] <= row["cost"])
                   or (shown(other) == shown(row) and other["cost"] < row["cost"]))]
    return max(better, key=lambda other: (shown(other), -other["cost"])) if better else None


def mark_frontier(rows):
    """Each row with 'on_frontier' (bool) and 'dominated_by' (the model beating it, or None) added."""
    marked = []
    for row in rows:
        winner = dominated_by(row, rows)
        marked.append({**row, "on_frontier": winner is None, "dominated_by": None if winner is None else winner["model"]})
    return marked


def frontier_table(rows, anchors=()):
    """Markdown: one section per N, rows by cost, the frontier marked; then the quoted anchors."""
    lines = []
    for n in sorted({row["n_constituents"] for row in rows}):
        lines += [f"**N = {n}**", "",
                  f"| Model | cost (LUT + {DSP_IN_LUTS}·DSP) | LUT | DSP | latency (ns) | AUC | on the frontier |", "|---|---|---|---|---|---|---|"]
        for row in sorted((r for r in rows if r["n_constituents"] == n), key=lambda r: r["cost"]):
            verdict = "**yes**" if row["on_frontier"] else f"no: {row['dominated_by']}"
            lines.append(f"| {row['model']} | {row['cost']} | {row['LUT']} | {row['DSP']} | {row['latency_ns']:.0f} | "
                         f"{row['auc']:.{AUC_DIGITS}f} | {verdict} |")
        lines.append("")
    if anchors:
        lines += ["Published designs (other dataset, Vivado place-and-route; a scale, not a row of the frontier):", ""]
        lines += [f"- {a['model']}, N = {a['n_constituents']}: {a['latency_ns']} ns, {a['LUT']} LUT, {a['DSP']} DSP" for a in anchors]
    return "\n".join(lines) + "\n"


LABEL_GAP = 0.045  # the least vertical distance between two labels that share a column, in axes fractions


def label_heights(points):
    """Heights (axes fractions) for labels beside ``points`` [(x, y) in axes fractions], lowest
    point first: each label at its point's height, or moved up until it is LABEL_GAP from every
    label placed before it within 0.3 in x (so that no two labels overlap)."""
    placed = []
    for x, y in sorted(points, key=lambda point: point[1]):
        # the 1e-9: a label just placed LABEL_GAP above another must not clash with it again by rounding
        while clash := [other_y for other_x, other_y in placed if abs(other_x - x) < 0.3 and abs(other_y - y) < LABEL_GAP - 1e-9]:
            y = max(clash) + LABEL_GAP
        placed.append((x, y))
    return placed


def _label_points(ax, rows):
    """Each row's name beside its point at label_heights (a thin line joins a moved label to its point)."""
    to_axes = ax.transData + ax.transAxes.inverted()  # the axes' limits are final: points are drawn
    rows = sorted(rows, key=lambda r: r["auc"])
    for row, (x, y) in zip(rows, label_heights([to_axes.transform((r["cost"], r["auc"])) for r in rows])):
        name = row["model"].removeprefix(row["family"]).strip(" ,") or row["model"]
        ax.annotate(name, (row["cost"], row["auc"]), xytext=(x + 0.02, y), textcoords="axes fraction", fontsize=6,
                    va="center", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey", "shrinkA": 0, "shrinkB": 2})


def plot_frontier(rows, out, anchors=()):
    """AUC against cost (log x), one panel per N, one marker per family, the frontier joined by a
    line; ``anchors`` (published designs without an AUC on these jets) as labelled vertical marks
    at their cost. Written to ``out`` (PNG) through a temporary name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasjet.files import save_figure

    from matplotlib.ticker import NullFormatter

    ns = sorted({row["n_constituents"] for row in rows})
    fig, axes = plt.subplots(1, len(ns), figsize=(4.6 * len(ns), 4.4), squeeze=False)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    families = sorted({row["family"] for row in rows})
    colour = {family: cycle[i % len(cycle)] for i, family in enumerate(families)}  # the same in every panel
    for ax, n in zip(axes[0], ns):
        at_n = [row for row in rows if row["n_constituents"] == n]
        for family in families:
            mine = [row for row in at_n if row["family"] == family]
            ax.scatter([r["cost"] for r in mine], [r["auc"] for r in mine], marker=FAMILY_MARKERS.get(family, "D"),
                       color=colour[family], label=family, zorder=3)
        front = sorted((r for r in at_n if r["on_frontier"]), key=lambda r: r["cost"])
        ax.step([r["cost"] for r in front], [r["auc"] for r in front], where="post", color="grey", lw=0.8, zorder=2,
                label="frontier")
        for anchor in (a for a in anchors if a["n_constituents"] == n):
            cost = anchor["LUT"] + DSP_IN_LUTS * anchor["DSP"]
            ax.axvline(cost, color="black", ls=":", lw=0.8)
            ax.annotate(f"{anchor['model']} (published, other data)", (cost, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=6, xytext=(2, 0), textcoords="offset points")
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        ax.set_xlim(low, high * (high / low) ** 0.25)  # room on the right for the labels of the dearest points
        ax.xaxis.set_minor_formatter(NullFormatter())
        _label_points(ax, at_n)
        ax.set_xlabel(f"cost: LUT + {DSP_IN_LUTS}·DSP")
        ax.set_ylabel("AUC (test jets)")
        ax.set_title(f"N = {n} constituents")
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0][0].get_legend_handles_labels()  # one legend for all panels, below them: no point hidden
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, out, dpi=130)
    plt.close(fig)
