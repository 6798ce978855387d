"""The Runs page: every fine-tuned run of every app (a Streamlit page script).

A table of the runs, each named by its app, training mode, data and time, then the chosen
run's status, metrics, config, training curves, its figures (confusion matrix, curves, sample
grids), downloads and exports, and deletion behind a confirmation step; after a deletion the
page shows the first run again. Everything is read from the runs registry (``shared.runs``).
"""

from pathlib import Path

import pandas as pd
import streamlit as st

from apps import APPS
from shared.runs import delete_run, list_runs
from shared.ui.job_view import render_curves
from shared.ui.run_files import history_rows, metric_summary, render_exports, run_figures
from shared.ui.training_setup import mode_label
from shared.ui.widgets import show_error

KEY = "runs"
RUN_KEY = f"{KEY}_run"
DELETED_KEY = f"{KEY}_deleted"  # set by a deletion: the next run of the page starts on the list
ALL_APPS = "All apps"
METRICS_PER_ROW = 4


def app_spec(run):
    """The spec of the app that wrote ``run``, or None for a folder no app claims."""
    return next((spec for spec in APPS if spec.name == run.app), None)


def created_time(run):
    """When ``run`` was created, as "YYYY-MM-DD HH:MM:SS" ("" if unknown)."""
    return str(run.status.get("created", ""))[:19].replace("T", " ")


def run_label(run):
    """A readable name for ``run``: app title · training mode · data folder · creation time,
    e.g. "Image classification · Feature extract · flowers · 2026-12-07 07:30"."""
    spec = app_spec(run)
    try:
        config = run.config
    except ValueError:  # a damaged config.json: the name says less
        config = {}
    parts = [spec.title if spec else run.app]
    if config.get("mode"):
        parts.append(mode_label(str(config["mode"])))
    if config.get("data"):
        parts.append(Path(str(config["data"])).name or str(config["data"]))
    parts.append(created_time(run)[:16] or run.run_id)
    return " · ".join(parts)


def runs_table(runs):
    """One row per run: its readable name, app, id, state, creation time and headline metric."""
    rows = []
    for run in runs:
        spec = app_spec(run)
        rows.append(
            {
                "name": run_label(run),
                "app": run.app,
                "run": run.run_id,
                "state": run.status["state"],
                "created": created_time(run),
                "metric": metric_summary(run, spec and spec.headline_metric),
            }
        )
    return pd.DataFrame(rows)


def render_overview(run):
    """State, metrics and config of ``run``."""
    status = run.status
    st.markdown(f"**State:** {status['state']}")
    if status.get("message"):
        st.caption(status["message"])
    try:
        metrics, config = run.metrics, run.config
    except ValueError as error:  # a damaged JSON file in the run folder
        show_error(error, hint="The run's files are damaged; delete it or train it again.")
        return
    render_metrics(metrics)
    with st.expander("Config"):
        st.json(config)


def render_metrics(metrics):
    """The numeric metrics as a row of ``st.metric`` (four to a row), the others as a table."""
    numbers = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    items = list(numbers.items())
    for start in range(0, len(items), METRICS_PER_ROW):
        for column, (name, value) in zip(
            st.columns(METRICS_PER_ROW), items[start : start + METRICS_PER_ROW]
        ):
            column.metric(name, f"{value:.4g}")
    others = {key: value for key, value in metrics.items() if key not in numbers}
    if others:
        rows = [{"metric": key, "value": describe(value)} for key, value in others.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    if not metrics:
        st.caption("This run stored no metrics.")


def describe(value):
    """A metric that is not a number, as short text: lists and mappings joined by commas."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {describe(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(item) for item in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_figures(run):
    """The PNG figures stored in the run."""
    figures = run_figures(run)
    if not figures:
        st.caption("This run stored no figures.")
        return
    columns = st.columns(2)
    for index, path in enumerate(figures):
        columns[index % 2].image(str(path), caption=str(path.relative_to(run.path)))


def render_delete(run):
    """Delete ``run``, after a second, explicit confirmation."""
    confirm_key = f"{KEY}_confirm_{run.app}_{run.run_id}"
    if run.state == "running":
        st.caption("A running run cannot be deleted: cancel its job on the Train page first.")
        return
    if not st.session_state.get(confirm_key):
        if st.button("Delete this run…", key=f"{KEY}_delete", icon=":material/delete:"):
            st.session_state[confirm_key] = True
            st.rerun()
        return
    st.warning(f"Delete {run.app}/{run.run_id} and all its files? This cannot be undone.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", type="primary", key=f"{KEY}_delete_yes"):
        try:
            delete_run(run)
        except (OSError, ValueError) as error:
            show_error(error)
            return
        st.session_state.pop(confirm_key, None)
        st.session_state[DELETED_KEY] = True
        st.toast(f"Deleted {run_label(run)}", icon=":material/delete:")
        st.rerun()
    if no.button("Keep it", key=f"{KEY}_delete_no"):
        st.session_state.pop(confirm_key, None)
        st.rerun()


def render_run(run):
    """The chosen run in tabs."""
    st.subheader(run_label(run))
    st.caption(f"{run.app}/{run.run_id}")
    # Tabs of their own per run: another run opens on its Overview, not on the last tab shown.
    overview, curves, figures, export, delete = st.tabs(
        ["Overview", "Curves", "Figures", "Export", "Delete"], key=f"{KEY}_tabs_{run_ref(run)}"
    )
    with overview:
        render_overview(run)
    with curves:
        render_curves(history_rows(run))
    with figures:
        render_figures(run)
    with export:
        spec = app_spec(run)
        render_exports(run, spec.exporters if spec else ())
    with delete:
        render_delete(run)


def run_ref(run):
    """``<app>/<id>``: how the Train page's link and the run select box name a run."""
    return f"{run.app}/{run.run_id}"


def choose_run(runs):
    """The run select box (readable names), preselected from ``?run=<app>/<id>`` (the Train
    page's link); on the first run after a deletion."""
    refs = [run_ref(run) for run in runs]
    labels = dict(zip(refs, map(run_label, runs)))
    if st.session_state.pop(DELETED_KEY, False) or st.session_state.get(RUN_KEY) not in refs:
        st.session_state[RUN_KEY] = refs[0]
    requested = st.query_params.get("run")
    if requested is not None:
        del st.query_params["run"]
        if requested in refs:
            st.session_state[RUN_KEY] = requested
        else:
            st.info(f"Run {requested} is not listed: it was deleted, or the app filter hides it.")
    ref = st.selectbox("Run", refs, format_func=labels.get, key=RUN_KEY)
    return runs[refs.index(ref)]


def main():
    """Render the page: filter, table, then the chosen run."""
    st.title(":material/history: Runs")
    st.caption("Every fine-tuned run of every app, from the runs registry.")
    try:
        every_run = list_runs()
    except (OSError, ValueError) as error:
        show_error(error, hint="Check the runs folder ($TRANSFERZOO_RUNS_DIR or runs/).")
        return
    if not every_run:
        st.info("No runs yet: fine-tune a model on the Train page.")
        st.page_link("app_pages/train.py", label="Train", icon=":material/model_training:")
        return
    apps = [ALL_APPS, *sorted({run.app for run in every_run})]
    app = st.selectbox("App", apps, key=f"{KEY}_app")
    runs = [run for run in every_run if app == ALL_APPS or run.app == app]
    st.dataframe(runs_table(runs), hide_index=True)
    render_run(choose_run(runs))


main()
