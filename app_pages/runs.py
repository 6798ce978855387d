"""The Runs page: every fine-tuned run of every app (a Streamlit page script).

A table of the runs, then the chosen run's status, metrics, config, training curves, its
figures (confusion matrix, curves, sample grids), downloads and exports, and deletion behind
a confirmation step. Everything is read from the runs registry (``shared.runs``).
"""

import pandas as pd
import streamlit as st

from apps import APPS
from shared.runs import delete_run, list_runs
from shared.ui.job_view import render_curves
from shared.ui.run_files import history_rows, metric_summary, render_exports, run_figures
from shared.ui.widgets import show_error

KEY = "runs"
ALL_APPS = "All apps"


def app_spec(run):
    """The spec of the app that wrote ``run``, or None for a folder no app claims."""
    return next((spec for spec in APPS if spec.name == run.app), None)


def runs_table(runs):
    """One row per run: app, id, name, state, creation time and its headline metric."""
    rows = []
    for run in runs:
        status = run.status
        spec = app_spec(run)
        rows.append(
            {
                "app": run.app,
                "run": run.run_id,
                "name": status.get("name", ""),
                "state": status["state"],
                "created": str(status.get("created", ""))[:19].replace("T", " "),
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
    numbers = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    for column, (name, value) in zip(st.columns(min(4, len(numbers)) or 1), numbers.items()):
        column.metric(name, f"{value:.4g}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Metrics**")
        st.json(metrics, expanded=1)
    with right:
        st.markdown("**Config**")
        st.json(config, expanded=1)


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
        st.toast(f"Deleted {run.app}/{run.run_id}", icon=":material/delete:")
        st.rerun()
    if no.button("Keep it", key=f"{KEY}_delete_no"):
        st.session_state.pop(confirm_key, None)
        st.rerun()


def render_run(run):
    """The chosen run in tabs."""
    st.subheader(f"{run.app} / {run.run_id}")
    overview, curves, figures, export, delete = st.tabs(
        ["Overview", "Curves", "Figures", "Export", "Delete"]
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


def choose_run(runs):
    """The run select box, preselected from ``?run=<app>/<id>`` (the Train page's link)."""
    names = [f"{run.app}/{run.run_id}" for run in runs]
    requested = st.query_params.get("run")
    if requested is not None:
        del st.query_params["run"]
        if requested in names:
            st.session_state[f"{KEY}_run"] = requested
        else:
            st.info(f"Run {requested} is not listed: it was deleted, or the app filter hides it.")
    name = st.selectbox("Run", names, key=f"{KEY}_run")
    return runs[names.index(name)]


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
