"""Figures saved with runs and benchmarks (matplotlib, no display needed), and the line
charts of the pages (Altair, with axis labels formatted for people)."""

import numpy as np

MIN_CHART_POINTS = 3  # fewer points say more as numbers than as a chart
NUMBER_FORMAT = ",.4~g"  # d3-format: 4 significant digits, no trailing zeros (48.18, 1,235)


def _figure(width, height):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=100)


def save_confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """Save a confusion matrix (rows: true class, columns: predicted) as a PNG."""
    matrix = np.asarray(matrix)
    size = max(4.0, 0.5 * len(class_names) + 2)
    plt, figure = _figure(size + 1, size)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(class_names) <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), value in np.ndenumerate(matrix):
            colour = "white" if value > threshold else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def save_history(histories, path, metrics=("loss", "accuracy")):
    """Plot training curves of every phase (``{phase: {metric: [values]}}``) as a PNG."""
    plt, figure = _figure(5 * len(metrics), 3.6)
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), index + 1)
        offset = 0
        for phase, history in histories.items():
            for key in (metric, f"val_{metric}"):
                values = history.get(key, [])
                epochs = np.arange(offset + 1, offset + len(values) + 1)
                style = "--" if key.startswith("val_") else "-"
                axes.plot(epochs, values, style, marker="o", label=f"{phase} {key}")
            offset += len(history.get(metric, []))
        axes.set_xlabel("epoch")
        axes.set_title(metric)
        axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


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
    import streamlit as st

    if len(frame) >= (min_points or MIN_CHART_POINTS):
        chart = series_chart(frame, x, columns, x_label=x_label, y_label=y_label, whole_x=whole_x)
        st.altair_chart(chart, width="stretch")
        return
    last = frame.iloc[-1]
    at = f"{last[x]:.0f}" if whole_x else f"{last[x]:.3g}"
    for column, name in zip(st.columns(len(columns)), columns):
        column.metric(f"{name} ({x_label} {at})", f"{last[name]:.4g}")
