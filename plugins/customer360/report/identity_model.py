"""Report section: the identity match model in use, its match weights, and what changed since the version
before it (``customer360.identity.model_store``)."""

from __future__ import annotations

from typing import Any

from customer360.report.sections import SectionResult
from customer360.settings import Settings

KEY = "identity-match-weights"
TITLE = "Identity match model"
COMPARISON_COLOURS = {
    "given_name": "#2e7dc8",
    "family_name": "#1b4f80",
    "birth_date": "#4caf7d",
    "email": "#f2b134",
    "phone": "#e4572e",
    "address": "#8e6cbf",
}


def identity_model_sections(settings: Settings) -> list[SectionResult]:
    """The section, or none when no identity model was trained yet (a warehouse identity never ran on)."""
    from customer360.identity.model_store import versions

    return [identity_model_section(settings)] if versions(settings) else []


def identity_model_section(settings: Settings) -> SectionResult:
    """The match weights (log2 m/u) of every comparison level of the model daily runs use, with the weight of
    the previous version beside each; a note when the model cannot be read."""
    from customer360.identity.model_store import load_model, versions, weight_changes

    try:
        model = load_model(settings)
    except (FileNotFoundError, ValueError) as exc:
        return SectionResult(KEY, TITLE, "", note=f"no data: {exc}")
    if model is None:
        return SectionResult(
            KEY, TITLE, "", note="no data: no identity match model yet (the first identity run trains one)"
        )
    earlier = [v for v in versions(settings) if v < model.version]
    previous = load_model(settings, version=earlier[-1]) if earlier else None
    rows = weight_changes(previous, model)
    window = model.training_window
    intro = (
        f"Version {model.version}, trained {model.created_at} on {model.training_records:,} records observed "
        f"{window.get('from') or 'any time'} to {window.get('to') or 'the training day'} "
        f"(seed {model.seed}); "
        "bars: match weight log2(m/u) of each comparison level, positive for evidence of one person. "
    )
    if previous is None:
        intro += "No earlier version to compare with."
    else:
        moved = sorted(
            (r for r in rows if r["change"] is not None), key=lambda r: abs(r["change"]), reverse=True
        )[:3]
        intro += f"Changes since version {previous.version} (diamonds): " + "; ".join(
            f"{r['comparison']} {r['level']} {r['change']:+.2f}" for r in moved
        )
    return SectionResult(KEY, TITLE, intro, figure=match_weights_chart(rows))


def match_weights_chart(rows: list[dict[str, Any]]) -> Any:
    """Horizontal bars of the current weights, coloured by comparison; the previous weights as markers."""
    import plotly.graph_objects as go

    from customer360.report.charts import _layout, _text

    shown = [r for r in rows if r["weight"] is not None]
    labels = [_text(f"{r['comparison']}: {r['level']}") for r in shown]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[r["weight"] for r in shown],
            orientation="h",
            name="this version",
            marker={"color": [COMPARISON_COLOURS.get(r["comparison"], "#b0b0b0") for r in shown]},
            hovertemplate="%{y}: %{x:+.2f}<extra></extra>",
        )
    )
    before = [(label, r["previous_weight"]) for label, r in zip(labels, shown, strict=True)]
    before = [(label, w) for label, w in before if w is not None]
    if before:
        fig.add_trace(
            go.Scatter(
                y=[label for label, _ in before],
                x=[w for _, w in before],
                mode="markers",
                name="previous version",
                marker={"symbol": "diamond", "color": "#333333", "size": 8},
                hovertemplate="%{y}: %{x:+.2f} before<extra></extra>",
            )
        )
    return _layout(
        fig,
        height=max(420, 22 * len(shown)),
        margin={"l": 330, "r": 30, "t": 30, "b": 50},
        xaxis={"title": {"text": "match weight (log2 m/u)"}},
        yaxis={"autorange": "reversed"},
    )
