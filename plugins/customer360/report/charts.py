"""Plotly figures of the report, one function per chart, each from a small DataFrame of ``queries``.

Text that comes from the data (segment names, action names, stages) is HTML-escaped before it reaches a
figure: plotly draws labels through its own small HTML dialect, so a name like ``<b>`` must stay text.
"""

from __future__ import annotations

import html
from typing import Any

from customer360.report.queries import CHURN_BANDS, LIFECYCLE_STAGES, VALUE_TIERS

CHART_HEIGHT = 440
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
BAND_COLOURS = {"low": "#4caf7d", "medium": "#f2b134", "high": "#d9534f"}
TIER_COLOURS = {
    "A": "rgba(46, 125, 200, 0.12)",
    "B": "rgba(242, 177, 52, 0.12)",
    "C": "rgba(140, 140, 140, 0.10)",
}
STAGE_COLOURS = {
    "potential": "#c5ccd3",
    "first_contact": "#9aa5b1",
    "first_purchase": "#7fb3d5",
    "repeat": "#2e7dc8",
    "loyal": "#1d4f91",
    "at_risk": "#f2b134",
    "lapsed": "#d9534f",
    "reactivated": "#4caf7d",
}
OTHER_COLOUR = "#b0b0b0"
CHANNEL_COLOURS = {"email": "#2e7dc8", "sms": "#4caf7d", "phone": "#f2b134", "none": "#b0b0b0"}


def _text(value: object) -> str:
    return html.escape(str(value))


def _layout(fig: Any, **extra: Any) -> Any:
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "height": CHART_HEIGHT,
        "margin": {"l": 60, "r": 30, "t": 30, "b": 50},
        "font": {"family": FONT, "size": 13},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    }
    fig.update_layout(**{**layout, **extra})
    return fig


def rfm_heatmap(cells: Any) -> Any:
    """R score across, F score up; each cell coloured by customers and labelled with its main segment."""
    import plotly.graph_objects as go

    top_r = int(max(5, cells["r_score"].max()))
    top_f = int(max(5, cells["f_score"].max()))
    r_axis = list(range(1, top_r + 1))
    f_axis = list(range(1, top_f + 1))
    z = [[0] * len(r_axis) for _ in f_axis]
    label = [[""] * len(r_axis) for _ in f_axis]
    hover = [["no customers"] * len(r_axis) for _ in f_axis]
    for row in cells.itertuples(index=False):  # at most one row per cell of the grid
        fi, ri = int(row.f_score) - 1, int(row.r_score) - 1
        z[fi][ri] = int(row.customers)
        label[fi][ri] = f"{_text(row.top_segment)}<br>{int(row.customers):,}"
        hover[fi][ri] = _text(row.segments)
    fig = go.Figure(
        go.Heatmap(
            x=r_axis,
            y=f_axis,
            z=z,
            text=label,
            customdata=hover,
            texttemplate="%{text}",
            hovertemplate="R %{x} × F %{y}: %{z} customers<br>%{customdata}<extra></extra>",
            colorscale="Blues",
            colorbar={"title": {"text": "customers"}},
            xgap=2,
            ygap=2,
        )
    )
    return _layout(
        fig,
        xaxis={"title": {"text": "R score (5 = bought most recently)"}, "dtick": 1},
        yaxis={"title": {"text": "F score (5 = buys most often)"}, "dtick": 1},
    )


def pareto(points: Any) -> Any:
    """Cumulative share of value against share of customers, A/B/C tiers shaded and cut points marked."""
    import plotly.graph_objects as go

    xs = [0.0, *points["customer_share"].astype(float).tolist()]
    ys = [0.0, *points["cumulative_value_share"].astype(float).tolist()]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name="cumulative value",
            line={"color": "#1d4f91", "width": 3},
            hovertemplate="top %{x:.1%} of customers hold %{y:.1%} of value<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="equal shares", line={"color": "#b0b0b0", "dash": "dot"}
        )
    )
    cuts = points[points["is_tier_cut"]].sort_values("customer_share")
    start = 0.0
    for row in cuts.itertuples(index=False):
        tier = str(row.value_tier)
        end = float(row.customer_share)
        fig.add_vrect(
            x0=start,
            x1=end,
            fillcolor=TIER_COLOURS.get(tier, "rgba(0,0,0,0.05)"),
            line_width=0,
            annotation_text=f"tier {_text(tier)}",
            annotation_position="top left",
        )
        if tier != VALUE_TIERS[-1]:
            fig.add_trace(
                go.Scatter(
                    x=[end],
                    y=[float(row.cumulative_value_share)],
                    mode="markers+text",
                    marker={"size": 10, "color": "#d9534f"},
                    text=[
                        f"{_text(tier)} cut: {end:.0%} of customers, "
                        f"{float(row.cumulative_value_share):.0%} of value"
                    ],
                    textposition="bottom right",
                    name=f"tier {_text(tier)} cut point",
                    showlegend=False,
                )
            )
        start = end
    return _layout(
        fig,
        xaxis={
            "title": {"text": "share of customers, highest value first"},
            "tickformat": ".0%",
            "range": [0, 1],
        },
        yaxis={"title": {"text": "cumulative share of value"}, "tickformat": ".0%", "range": [0, 1.05]},
    )


def clv_distribution(bins: Any) -> Any:
    """Histogram of predicted 12-month CLV with its median and mean."""
    import plotly.graph_objects as go

    starts = bins["bin_start"].astype(float)
    ends = bins["bin_end"].astype(float)
    labels = [
        f"≥ {s:,.0f}" if over else f"{s:,.0f} – {e:,.0f}"
        for s, e, over in zip(starts, ends, bins["is_overflow"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=((starts + ends) / 2).tolist(),
            y=bins["customers"].astype(int).tolist(),
            width=(ends - starts).tolist(),
            customdata=labels,
            marker={"color": "#2e7dc8", "line": {"color": "white", "width": 1}},
            hovertemplate="CLV %{customdata}: %{y} customers<extra></extra>",
            name="customers",
        )
    )
    median, mean = float(bins["median"].iloc[0]), float(bins["mean"].iloc[0])
    low, high = ("top left", "top right") if median <= mean else ("top right", "top left")
    fig.add_vline(
        x=median,
        line_dash="dash",
        line_color="#1d4f91",
        annotation_text=f"median {median:,.0f}",
        annotation_position=low,
    )
    fig.add_vline(
        x=mean,
        line_dash="dot",
        line_color="#d9534f",
        annotation_text=f"mean {mean:,.0f}",
        annotation_position=high,
    )
    return _layout(
        fig,
        bargap=0,
        showlegend=False,
        xaxis={"title": {"text": "predicted CLV, next 12 months (the last bar holds the top 1%)"}},
        yaxis={"title": {"text": "customers"}},
    )


def _stage_order(stages: list[str]) -> list[str]:
    known = [s for s in LIFECYCLE_STAGES if s in stages]
    return known + sorted(s for s in stages if s not in LIFECYCLE_STAGES)


def lifecycle_funnel(counts: Any) -> Any:
    """Customers per lifecycle stage, in lifecycle order."""
    import plotly.graph_objects as go

    by_stage = dict(zip(counts["lifecycle_stage"], counts["customers"].astype(int), strict=True))
    stages = _stage_order(list(by_stage))
    fig = go.Figure(
        go.Funnel(
            y=[_text(s) for s in stages],
            x=[by_stage[s] for s in stages],
            textinfo="value+percent total",
            marker={"color": [STAGE_COLOURS.get(s, OTHER_COLOUR) for s in stages]},
            hovertemplate="%{y}: %{x} customers<extra></extra>",
        )
    )
    return _layout(fig, yaxis={"title": {"text": "lifecycle stage"}})


def lifecycle_sankey(transitions: Any) -> Any:
    """Stage changes as a flow from the stage left (left column) to the stage entered (right column)."""
    import plotly.graph_objects as go

    from_stages = _stage_order(sorted(set(transitions["from_stage"])))
    to_stages = _stage_order(sorted(set(transitions["to_stage"])))
    left = {s: i for i, s in enumerate(from_stages)}
    right = {s: len(from_stages) + i for i, s in enumerate(to_stages)}
    link_colour = {s: STAGE_COLOURS.get(s, OTHER_COLOUR) for s in to_stages}
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [_text(s) for s in from_stages] + [_text(s) for s in to_stages],
                "color": [STAGE_COLOURS.get(s, OTHER_COLOUR) for s in [*from_stages, *to_stages]],
                "pad": 14,
                "thickness": 18,
            },
            link={
                "source": [left[s] for s in transitions["from_stage"]],
                "target": [right[s] for s in transitions["to_stage"]],
                "value": transitions["customers"].astype(int).tolist(),
                "color": [_fade(link_colour[s]) for s in transitions["to_stage"]],
                "hovertemplate": "%{source.label} → %{target.label}: %{value} changes<extra></extra>",
            },
        )
    )
    return _layout(fig)


def _fade(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, 0.35)"


def churn_stacked(rows: Any) -> Any:
    """Customers per RFM segment, stacked by churn band; segments with the most high-risk customers first."""
    import plotly.graph_objects as go

    pivot = rows.pivot_table(
        index="rfm_segment", columns="churn_band", values="customers", aggfunc="sum", fill_value=0
    )
    for band in CHURN_BANDS:
        if band not in pivot.columns:
            pivot[band] = 0
    bands = [*CHURN_BANDS, *sorted(c for c in pivot.columns if c not in CHURN_BANDS)]
    share_high = pivot["high"] / pivot[bands].sum(axis=1)
    pivot = pivot.assign(_share=share_high).sort_values(["_share"], ascending=False)
    fig = go.Figure()
    for band in bands:
        fig.add_trace(
            go.Bar(
                x=[_text(s) for s in pivot.index],
                y=pivot[band].astype(int).tolist(),
                name=_text(band),
                marker={"color": BAND_COLOURS.get(band, OTHER_COLOUR)},
                hovertemplate="%{x}: %{y} customers at " + _text(band) + " risk<extra></extra>",
            )
        )
    return _layout(
        fig,
        barmode="stack",
        xaxis={"title": {"text": "RFM segment (highest share of high churn risk first)"}},
        yaxis={"title": {"text": "customers"}},
        legend_title_text="churn band",
    )


def _dates(values: Any) -> list[str]:
    """ISO dates (``2026-11-24``) from dates, datetimes or pandas timestamps (a day's midnight)."""
    days = [d.date() if callable(getattr(d, "date", None)) else d for d in values]
    return [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in days]


def _floats(values: Any) -> list[float | None]:
    """Floats for plotly, None (a gap) for missing values."""
    return [None if v is None or v != v else float(v) for v in values]


def _money(currency: object) -> str:
    return f" ({_text(currency)})" if currency is not None and currency == currency else ""


def kpi_trends(rows: Any) -> Any:
    """Six small charts over the last dates: customers, active customers, customers at churn risk, net
    revenue of the last 30 days (in its currency), complaints of the last 30 days and NPS."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    money = _money(rows["currency"].iloc[-1]) if len(rows) else ""
    panels = (
        ("customers", "customers", "#1d4f91", ",.0f"),
        ("active_customers", "active customers", "#2e7dc8", ",.0f"),
        ("customers_at_risk", "customers at churn risk", "#f2b134", ",.0f"),
        ("net_revenue_30d", "net revenue, last 30 days" + money, "#4caf7d", ",.2f"),
        ("complaints_30d", "complaints, last 30 days", "#d9534f", ",.0f"),
        ("nps_90d", "NPS, last 90 days", "#7b5ea7", ".1f"),
    )
    fig = make_subplots(
        rows=2,
        cols=3,
        subplot_titles=[title for _column, title, _colour, _format in panels],
        horizontal_spacing=0.07,
        vertical_spacing=0.16,
    )
    dates = _dates(rows["kpi_date"])
    for index, (column, title, colour, number) in enumerate(panels):
        fig.add_trace(
            go.Scatter(
                x=dates,
                y=_floats(rows[column]),
                mode="lines+markers",
                name=title,
                showlegend=False,
                connectgaps=False,
                line={"color": colour, "width": 2},
                marker={"size": 4},
                hovertemplate="%{x}: %{y:" + number + "}<extra>" + title + "</extra>",
            ),
            row=index // 3 + 1,
            col=index % 3 + 1,
        )
    fig.update_xaxes(type="date", tickformat="%d %b")
    fig.update_yaxes(rangemode="tozero")  # counts and money: a change reads against zero
    fig.update_yaxes(range=[-100, 100], rangemode="normal", row=2, col=3)  # NPS: its whole scale
    fig.update_annotations(font_size=13)
    return _layout(fig, height=560, margin={"l": 60, "r": 30, "t": 40, "b": 40})


def revenue_at_risk(bands: Any) -> Any:
    """Per churn band: the net revenue of the RFM window, and the part of it expected to be lost."""
    import plotly.graph_objects as go

    money = _money(bands["currency"].iloc[0]) if len(bands) else ""
    labels = [_text(b) for b in bands["churn_band"]]
    colours = [BAND_COLOURS.get(str(b), OTHER_COLOUR) for b in bands["churn_band"]]
    revenue, at_risk = _floats(bands["net_revenue_12m"]), _floats(bands["revenue_at_risk"])
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=labels,
            y=revenue,
            name="net revenue of the last 12 months",
            marker={"color": colours, "opacity": 0.3},
            customdata=bands["customers"].astype(int).tolist(),
            hovertemplate="%{x}: %{y:,.2f}" + money + " from %{customdata} customers<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=at_risk,
            name="revenue at risk (revenue × churn score)",
            marker={"color": colours},
            text=[
                f"{risk:,.0f} at risk of {total:,.0f}"
                if risk is not None and total is not None
                else "not scored"
                for risk, total in zip(at_risk, revenue, strict=True)
            ],
            textposition="outside",
            hovertemplate="%{x}: %{y:,.2f}" + money + " at risk<extra></extra>",
        )
    )
    return _layout(
        fig,
        barmode="overlay",
        showlegend=False,
        xaxis={"title": {"text": "churn band"}},
        yaxis={"title": {"text": "net revenue" + money}, "rangemode": "tozero"},
    )


NPS_COLOURS = {"promoter": "#4caf7d", "passive": "#b0b0b0", "detractor": "#d9534f"}


def satisfaction(rows: Any) -> Any:
    """NPS (left axis) and average CSAT (right axis) over the last dates, and the customers per category of
    their latest NPS answer."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    trend = rows.loc[rows["part"] == "trend"]
    mix = rows.loc[rows["part"] == "mix"]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.68, 0.32],
        specs=[[{"secondary_y": True}, {}]],
        subplot_titles=("NPS and CSAT of the last 90 days, by date", "customers by latest NPS answer"),
        horizontal_spacing=0.12,
    )
    dates = _dates(trend["kpi_date"])
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=_floats(trend["nps_90d"]),
            name="NPS (-100 to 100)",
            mode="lines+markers",
            line={"color": "#7b5ea7", "width": 2},
            customdata=_floats(trend["nps_responses_90d"]),
            hovertemplate="%{x}: NPS %{y:.1f} from %{customdata:.0f} answers<extra></extra>",
        ),
        row=1,
        col=1,
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=_floats(trend["avg_csat_90d"]),
            name="average CSAT (1-5)",
            mode="lines+markers",
            line={"color": "#2e7dc8", "width": 2, "dash": "dash"},
            customdata=_floats(trend["csat_responses_90d"]),
            hovertemplate="%{x}: CSAT %{y:.2f} from %{customdata:.0f} answers<extra></extra>",
        ),
        row=1,
        col=1,
        secondary_y=True,
    )
    fig.add_trace(
        go.Bar(
            x=[_text(c) for c in mix["nps_category"]],
            y=_floats(mix["customers"]),
            marker={"color": [NPS_COLOURS.get(str(c), OTHER_COLOUR) for c in mix["nps_category"]]},
            name="customers",
            showlegend=False,
            hovertemplate="%{x}: %{y:.0f} customers<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(type="date", tickformat="%d %b", row=1, col=1)
    fig.update_yaxes(title_text="NPS", range=[-100, 100], row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="CSAT", range=[1, 5], row=1, col=1, secondary_y=True, showgrid=False)
    fig.update_yaxes(title_text="customers", row=1, col=2)
    fig.update_annotations(font_size=13)
    return _layout(fig, legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0})


def service_weekly(weeks: Any) -> Any:
    """Per week: complaints stacked by channel (top); first-contact resolution (middle) and SLA adherence
    (bottom) over the ``queries.RATE_WEEKS`` weeks up to each week, of all channels (thick) and of each
    channel (thin), each point drawn only when its rate rests on ``queries.MIN_TICKETS_PER_POINT`` tickets."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from customer360.report.queries import MIN_TICKETS_PER_POINT, RATE_WEEKS

    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.36, 0.32, 0.32],
        subplot_titles=(
            "complaints opened per week",
            f"first-contact resolution over {RATE_WEEKS} weeks "
            f"(points from {MIN_TICKETS_PER_POINT}+ resolved tickets)",
            f"SLA adherence over {RATE_WEEKS} weeks (points from {MIN_TICKETS_PER_POINT}+ decided tickets)",
        ),
    )
    channels = [c for c in dict.fromkeys(weeks["channel"]) if c != "all"]
    palette = ["#2e7dc8", "#4caf7d", "#f2b134", "#7b5ea7", "#d9534f", "#1d4f91"]
    colour = {c: palette[i % len(palette)] for i, c in enumerate(channels)}
    colour["all"] = "#1f2933"
    for channel in channels:
        part = weeks.loc[weeks["channel"] == channel]
        fig.add_trace(
            go.Bar(
                x=_dates(part["week_start"]),
                y=part["complaints"].astype(int).tolist(),
                name=_text(channel),
                legendgroup=_text(channel),
                marker={"color": colour[channel]},
                customdata=part["tickets_opened"].astype(int).tolist(),
                hovertemplate="week of %{x}: %{y} complaints of %{customdata} tickets<extra>"
                + _text(channel)
                + "</extra>",
            ),
            row=1,
            col=1,
        )
    for row, (rate, enough, count, label) in enumerate(
        (
            ("fcr_rate_4w", "fcr_enough", "fcr_tickets_4w", "resolved"),
            ("sla_rate_4w", "sla_enough", "sla_tickets_4w", "decided"),
        ),
        start=2,
    ):
        for channel in ["all", *channels]:
            part = weeks.loc[weeks["channel"] == channel]
            values = [
                float(v) if ok else None
                for v, ok in zip(part[rate].astype("float64"), part[enough].fillna(False), strict=True)
            ]
            fig.add_trace(
                go.Scatter(
                    x=_dates(part["week_start"]),
                    y=values,
                    mode="lines+markers",
                    connectgaps=False,
                    name="all channels" if channel == "all" else _text(channel),
                    legendgroup=_text(channel),
                    showlegend=channel == "all" and row == 2,
                    line={"color": colour[channel], "width": 4 if channel == "all" else 1.5},
                    marker={"size": 7 if channel == "all" else 4},
                    customdata=part[count].fillna(0).astype(int).tolist(),
                    hovertemplate=f"{RATE_WEEKS} weeks to the week of %{{x}}: %{{y:.0%}} of %{{customdata}} "
                    + label
                    + " tickets<extra>"
                    + ("all channels" if channel == "all" else _text(channel))
                    + "</extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(tickformat=".0%", range=[0, 1.05], row=row, col=1)
    fig.update_yaxes(title_text="complaints", rangemode="tozero", row=1, col=1)
    first_week = _dates(weeks["week_start"].head(1))
    fig.update_xaxes(  # one tick per week, on its Monday
        type="date",
        tickformat="%d %b",
        dtick=7 * 24 * 3600 * 1000,
        tick0=first_week[0] if first_week else None,
    )
    fig.update_annotations(font_size=13)
    return _layout(fig, barmode="stack", height=720, margin={"l": 60, "r": 30, "t": 50, "b": 40})


def actions_by_type(rows: Any) -> Any:
    """Customers per next-best action, stacked by the channel to contact them on."""
    import plotly.graph_objects as go

    totals = rows.groupby("action_code")["customers"].sum().sort_values()
    names = rows.groupby("action_code")["action_name"].max()
    order = list(totals.index)
    named = [str(names[code] or code) for code in order]
    # two codes sharing a name would merge into one bar: name them by code as well
    labels = [
        _text(name if named.count(name) == 1 else f"{name} ({code})")
        for name, code in zip(named, order, strict=True)
    ]
    fig = go.Figure()
    for channel in sorted(
        set(rows["contact_channel"]),
        key=lambda c: list(CHANNEL_COLOURS).index(c) if c in CHANNEL_COLOURS else len(CHANNEL_COLOURS),
    ):
        part = rows[rows["contact_channel"] == channel].set_index("action_code")["customers"]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[int(part.get(code, 0)) for code in order],
                customdata=[_text(code) for code in order],
                orientation="h",
                name=_text(channel),
                marker={"color": CHANNEL_COLOURS.get(channel, OTHER_COLOUR)},
                hovertemplate="%{y} (%{customdata}): %{x} customers by " + _text(channel) + "<extra></extra>",
            )
        )
    return _layout(
        fig,
        barmode="stack",
        margin={"l": 230, "r": 30, "t": 30, "b": 50},
        xaxis={"title": {"text": "customers"}},
        legend_title_text="contact channel",
    )


def clv_holdout(rows: Any) -> Any:
    """The CLV holdout check: actual vs predicted repeat purchases per calibration frequency (bars, left) and
    the cumulative repeat purchases over the holdout (lines, right)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    by_frequency = rows.loc[rows["curve"] == "by_frequency"]
    cumulative = rows.loc[rows["curve"] == "cumulative"]
    total = rows.loc[rows["curve"] == "total"]
    error = total["relative_error"].iloc[0] if len(total) else None
    title = "holdout repeat purchases" + (
        f": predicted {error:+.1%} vs actual" if error == error and error is not None else ""
    )
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("by repeat purchases in calibration", "cumulative over the holdout"),
        horizontal_spacing=0.12,
    )
    labels = [_text(label) for label in by_frequency["x_label"]]
    for column, colour, name in (
        ("actual", "#1d4f91", "actual"),
        ("predicted", "#f2b134", "predicted (Pareto/NBD)"),
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=(by_frequency[column] / by_frequency["n_customers"].clip(lower=1)).tolist(),
                name=name,
                marker_color=colour,
                legendgroup=name,
                hovertemplate="%{x} repeat purchases: %{y:.2f} per customer<extra>" + name + "</extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=cumulative["x_value"].tolist(),
                y=cumulative[column].tolist(),
                mode="lines+markers",
                name=name,
                line={"color": colour, "dash": "solid" if column == "actual" else "dash"},
                legendgroup=name,
                showlegend=False,
                hovertemplate="day %{x}: %{y:,.0f}<extra>" + name + "</extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="repeat purchase days in calibration", row=1, col=1)
    fig.update_yaxes(title_text="holdout purchases per customer", row=1, col=1)
    fig.update_xaxes(title_text="days into the holdout", row=1, col=2)
    fig.update_yaxes(title_text="cumulative repeat purchases", row=1, col=2)
    return _layout(fig, barmode="group", title={"text": _text(title), "x": 0, "font": {"size": 14}})


def model_runs_table(rows: Any) -> Any:
    """The run's models: version, status (fitted, reused, skipped, failed), headline metric and reason."""
    import plotly.graph_objects as go

    colours = {"failed": "#f8d7da", "skipped": "#fff3cd"}
    fill = [colours.get(status, "white") for status in rows["status"]]
    fig = go.Figure(
        go.Table(
            columnwidth=[1, 3, 1, 3, 5],
            header={"values": ["model", "version", "status", "metrics", "reason"], "align": "left"},
            cells={
                "values": [
                    [_text(v) for v in rows["model"]],
                    [_text(v) for v in rows["version"]],
                    [_text(v) for v in rows["status"]],
                    [_text(v) for v in rows["metrics"]],
                    [_text(v) for v in rows["reason"]],
                ],
                "align": "left",
                "fill_color": [fill],
            },
        )
    )
    return _layout(fig, height=260)
