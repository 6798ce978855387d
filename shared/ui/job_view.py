"""The job monitor of the Train page: progress, live curves, the log, cancel.

Jobs are read from disk (``shared.jobs``) on every refresh, so they show after a reload, in
another tab, or after the server restarted. While a job runs the monitor refreshes itself
every few seconds as a fragment, without rerunning the whole page.
"""

import pandas as pd
import streamlit as st

from shared.jobs import cancel_job, find_run, is_alive, jobs_root, list_jobs, log_tail, poll
from shared.ui.charts import show_series

KEY = "train"
REFRESH_S = 2.0
SHOWN_JOBS = 5
STATE_ICONS = {
    "running": ":material/progress_activity:",
    "complete": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
}
SKIPPED_COLUMNS = ("epoch", "phase", "learning_rate", "lr")


def history_frame(history):
    """Per-epoch logs as a DataFrame indexed by epoch (numeric columns only)."""
    frame = pd.DataFrame(history)
    if frame.empty or "epoch" not in frame:
        return pd.DataFrame()
    frame = frame.set_index("epoch")
    columns = [
        column
        for column in frame.columns
        if column not in SKIPPED_COLUMNS and pd.api.types.is_numeric_dtype(frame[column])
    ]
    return frame[columns]


def render_curves(history):
    """Loss curves and metric curves side by side (live while training; after one epoch,
    its values as numbers)."""
    frame = history_frame(history)
    if frame.empty:
        st.caption("Curves appear after the first epoch.")
        return
    losses = [column for column in frame.columns if "loss" in column]
    others = [column for column in frame.columns if column not in losses]
    frame = frame.reset_index()
    for column, names, label in zip(st.columns(2), (losses, others), ("loss", "metric")):
        if names:  # a curve from two epochs on; the first epoch's values as numbers
            with column:
                show_series(
                    frame,
                    "epoch",
                    names,
                    x_label="epoch",
                    y_label=label,
                    whole_x=True,
                    min_points=2,
                )


def progress_text(job, status):
    """``Epoch 3 of 10 · 42 s`` and what the job does now."""
    progress = status.progress
    elapsed = f"{status.elapsed_s:.0f} s"
    if status.state != "running":
        return f"{status.state.capitalize()} after {elapsed}"
    if status.preparing:
        step = status.preparing
        return f"Preparing, step {step['step']} of {step['steps']}: {step['text']}… {elapsed}"
    epochs = progress.get("epochs") or "?"
    budget = f" of a {job.time_budget_s / 60:.1f} min budget" if job.time_budget_s else ""
    return (
        f"Phase {progress['phase']}, epoch {progress.get('epoch') or 1} of {epochs} · "
        f"{elapsed}{budget}"
    )


def render_outcome(job, status):
    """What came out: the run, or why it failed; "deleted" for a run deleted afterwards."""
    run = find_run(job) if status.state in ("complete", "cancelled") else None
    # A run exists from before the first epoch: a job that trained had one, even if the
    # job folder does not name it (a cancel from another server).
    had_run = status.run_ref or status.progress.get("phase")
    if status.state in ("complete", "cancelled") and had_run and run is None:
        which = f" `{status.run_ref}`" if status.run_ref else ""
        st.info(f"{status.state.capitalize()}; its run{which} has been deleted.")
    elif status.state == "complete" and status.run_ref:
        st.success(f"Run `{status.run_ref}` is complete and in the runs registry.")
        st.page_link(
            "app_pages/runs.py",
            label="Open it on the Runs page",
            icon=":material/history:",
            query_params={"run": f"{job.app}/{status.run_ref.removeprefix('run:')}"},
        )
    elif status.state == "failed":
        st.error(status.message or "Training failed; see the log below.", icon=":material/error:")
    elif status.state == "cancelled" and run is not None:
        st.warning(f"Cancelled: run `{run.ref}` is marked cancelled in the registry.")
    elif status.state == "cancelled":
        st.warning("Cancelled before training started.")


def render_job(job, status):
    """One job: title, progress bar, curves, outcome or cancel button, and its log."""
    st.markdown(f"**{STATE_ICONS.get(status.state, '')} {job.app}** · {job.label or job.job_id}")
    fraction = status.preparing["fraction"] if status.preparing else status.fraction
    st.progress(min(1.0, max(0.0, fraction)), text=progress_text(job, status))
    if status.message and status.state == "running":
        st.caption(status.message)
    render_curves(status.history)
    render_outcome(job, status)
    if status.state == "running" and st.button(
        "Cancel", key=f"{KEY}_cancel_{job.job_id}", icon=":material/stop_circle:"
    ):
        with st.spinner("Stopping the training process…"):
            cancel_job(job)
        st.rerun()
    with st.expander("Log"):
        st.code(log_tail(job) or "(nothing yet)", language=None)


def shown_jobs():
    """``([(job, status)], all jobs)``: every running job, then the newest others,
    ``SHOWN_JOBS`` in all (a long job stays in view, with its Cancel button, however many
    start after it). Only the shown jobs are polled."""
    jobs = list_jobs()
    running = [job for job in jobs if is_alive(job)]
    others = [job for job in jobs if job not in running]
    shown = running + others[: max(0, SHOWN_JOBS - len(running))]
    return [(job, poll(job)) for job in shown], len(jobs)


def _monitor(was_running):
    shown, total = shown_jobs()
    if not shown:
        st.info("No training jobs yet: start one above.")
        return
    running = False
    for job, status in shown:
        running |= status.state == "running"
        with st.container(border=True):
            render_job(job, status)
    if total > len(shown):
        st.caption(f"{total - len(shown)} older jobs are kept in {jobs_root()}.")
    if was_running and not running:
        st.rerun(scope="app")  # stop refreshing; the model lists pick up the new run


def jobs_section():
    """The job list; refreshes itself every ``REFRESH_S`` seconds while a job runs."""
    st.subheader("Jobs")
    running = any(is_alive(job) for job in list_jobs())
    st.fragment(_monitor, run_every=REFRESH_S if running else None)(running)
