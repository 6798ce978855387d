"""Training curves drawn on a page: Altair line charts with axes labelled for people, or the
last values as figures when a run is too short for a chart."""

import streamlit as st

MIN_CHART_POINTS = 3  # fewer points say more as numbers than as a chart
NUMBER_FORMAT = ",.4~g"  # d3-format: 4 significant digits, no trailing zeros (48.18, 1,235)


def series_chart(frame, x, columns, *, x_label, y_label, whole_x=False):
    """An Altair line chart of ``columns`` of ``frame`` against its column ``x``, for pages.

    Axis labels are formatted for people: ``48.18`` or ``1,235``, never ``48.180000``; with
    ``whole_x`` (epochs) the x ticks are whole numbers only. Each point is marked, so a
    short series still shows where its values are.
    """
    import altair as alt

    long = frame.melt(id_vars=[x], value_vars=list(columns), var_name="series", value_name="y")
    x_axis = alt.Axis(
        title=x_label, format="d" if whole_x else NUMBER_FORMAT, tickMinStep=1 if whole_x else 0
    )
    y_axis = alt.Axis(title=y_label, format=NUMBER_FORMAT)
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", axis=x_axis),
            y=alt.Y("y:Q", axis=y_axis, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None),
            tooltip=[
                alt.Tooltip(f"{x}:Q", title=x_label, format=NUMBER_FORMAT),
                "series:N",
                alt.Tooltip("y:Q", title=y_label, format=".4~g"),
            ],
        )
    )


def show_series(frame, x, columns, *, x_label, y_label, whole_x=False, min_points=None):
    """Draw ``columns`` of ``frame`` against ``x`` on a page (Streamlit): a ``series_chart``,
    or the last values as metrics when there are fewer than ``min_points`` points
    (``MIN_CHART_POINTS`` by default: a one-minute run)."""
    if len(frame) >= (min_points or MIN_CHART_POINTS):
        chart = series_chart(frame, x, columns, x_label=x_label, y_label=y_label, whole_x=whole_x)
        st.altair_chart(chart, width="stretch")
        return
    last = frame.iloc[-1]
    at = f"{last[x]:.0f}" if whole_x else f"{last[x]:.3g}"
    for column, name in zip(st.columns(len(columns)), columns):
        column.metric(f"{name} ({x_label} {at})", f"{last[name]:.4g}")
