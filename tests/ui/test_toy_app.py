"""An app plugs in through its spec alone: a toy app from the tests folder, added to the spec
table and nowhere else, appears on Home, Compare, Train and Runs and works there."""

import time

import pytest

import apps
from shared import jobs, runs
from tests.ui import apptest
from tests.ui.toy_app import SPEC as TOY

TIMEOUT = 120


@pytest.fixture
def with_toy(monkeypatch, runs_dir):
    """The spec table with the toy app added, and an empty runs registry."""
    monkeypatch.setattr(apps, "APPS", (*apps.APPS, TOY))
    return runs_dir


def open_page(page=None, **query):
    return apptest.open_page(page, timeout=TIMEOUT, **query)


def test_home_shows_a_card_and_a_sample_link_for_the_toy(with_toy):
    at = open_page()
    assert TOY.title in " ".join(header.value for header in at.subheader)
    assert TOY.description in " ".join(markdown.value for markdown in at.markdown)
    links = {(link.proto.page, link.proto.query_string) for link in at.page_link}
    assert ("toy", "sample=hello") in links


def test_the_toy_page_is_routed_and_takes_home_sample_links(with_toy):
    at = open_page("tests/ui/toy_app/page.py", sample="level")
    assert not at.exception, at.exception
    assert at.selectbox(key=TOY.sample_key).value == "level"
    assert "Reversed: level" in " ".join(markdown.value for markdown in at.markdown)


def test_compare_runs_the_toy_and_shows_its_compact_result(with_toy):
    at = open_page("app_pages/compare.py")
    at.selectbox(key="compare_app").set_value("toy").run()
    assert not at.exception, at.exception
    at.radio(key="compare_text_source").set_value("Sample").run()
    at.selectbox(key="compare_text_sample").set_value("greeting").run()
    assert not at.exception and not at.error, [error.value for error in at.error]
    shown = " ".join(markdown.value for markdown in at.markdown)
    assert "### ?yadot uoy era woh ,olleH" in shown
    assert "Latency" in [metric.label for metric in at.metric]


def test_train_trains_the_toy_on_its_demo_data_and_runs_shows_the_run(with_toy, monkeypatch):
    monkeypatch.delenv(jobs.JOBS_DIR_ENV, raising=False)
    at = open_page("app_pages/train.py")
    at.selectbox(key="train_app").set_value("toy").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_mode_toy").options == ["Scratch", "Feature extract"]
    assert "three reversible words" in " ".join(caption.value for caption in at.caption)
    at.number_input(key="train_epochs").set_value(2).run()
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error, [error.value for error in at.error]
    (job,) = jobs.list_jobs()
    deadline = time.monotonic() + TIMEOUT
    while jobs.poll(job).state not in jobs.FINISHED and time.monotonic() < deadline:
        time.sleep(0.5)
    status = jobs.poll(job)
    assert status.state == "complete", jobs.log_tail(job)
    assert [row["epoch"] for row in status.history] == [1, 2]
    at = open_page("app_pages/runs.py")
    table = at.dataframe[0].value
    assert table["app"].tolist() == ["toy"] and table["metric"].tolist() == ["reversals 3"]
    run = runs.open_run(status.run_ref)
    assert run.artifact("reversed.txt").read_text() == "reward\nstrap\ndesserts"


def test_runs_lists_a_toy_run_with_its_metric_and_exports_it(with_toy):
    run = runs.new_run("toy", {"epochs": 2}, name="toy run")
    run.save_metrics({"loss": 0.5, "reversals": 3})
    run.artifact("model").mkdir()
    run.set_status("complete")
    at = open_page("app_pages/runs.py")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table["app"].tolist() == ["toy"] and table["metric"].tolist() == ["reversals 3"]
    export = next(button for button in at.button if button.label == "Export the reversed words")
    export.click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert run.artifact("export/words.txt").read_text() == "desserts\n"
