"""The Image generation page through ``streamlit.testing.v1.AppTest`` (offline, temp runs)."""

import json

import numpy as np
import pyarrow
import pytest
from PIL import Image

from apps.gan import train
from apps.gan.config import FinetuneConfig
from apps.gan.data import synthetic_blobs
from shared.lifecycle import run_training
from tests.ui.apptest import open_page

PAGE = "apps/gan/page.py"
TIMEOUT = 180


def open_gan_page():
    """The app switched to the GAN page, run once, without an exception."""
    return open_page(PAGE, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def trained_runs_dir(tmp_path_factory):
    """A runs folder holding one tiny DCGAN run trained on synthetic-blob PNG files."""
    folder = tmp_path_factory.mktemp("blobs")
    for index, image in enumerate(synthetic_blobs(16, 16, seed=0)):
        Image.fromarray(np.round((image + 1) * 127.5).astype("uint8")).save(
            folder / f"blob_{index:02d}.png"
        )
    runs_dir = tmp_path_factory.mktemp("runs")
    config = FinetuneConfig.tiny(data=str(folder), architecture="dcgan", runs_dir=str(runs_dir))
    run = run_training("gan", config, train, verbose=0)
    return runs_dir, run


@pytest.mark.real_weights
def test_without_runs_the_page_samples_the_bundled_generator(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERZOO_RUNS_DIR", str(tmp_path))
    at = open_gan_page()
    assert not at.error, [error.value for error in at.error]
    assert at.selectbox(key="gan_model").value == "bundled:dcgan_faces"
    assert at.selectbox(key="gan_model").options == [
        "bundled:dcgan_faces — pretrained faces (DigiFace-1M, 64 px)"
    ]
    assert len(at.image) == 2  # samples and interpolation, at once: no run needed
    assert "16 samples, seed 0" in at.image[0].captions[0]
    assert "Train page" in " ".join(info.value for info in at.info)
    # First the Train page with the GAN chosen, then the command lines.
    (link,) = [link for link in at.page_link if link.proto.page == "train"]
    assert link.proto.query_string == "app=gan"
    commands = " ".join(caption.value for caption in at.caption)
    assert "--model bundled:dcgan_faces --data" in commands
    assert "python -m apps.gan.finetune --data fashion-mnist" in commands


def test_a_trained_run_shows_samples_and_its_training(trained_runs_dir, monkeypatch):
    runs_dir, run = trained_runs_dir
    monkeypatch.setenv("TRANSFERZOO_RUNS_DIR", str(runs_dir))
    at = open_gan_page()
    assert not at.error, [error.value for error in at.error]
    at.selectbox(key="gan_model").set_value(run.ref).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    # Samples grid, interpolation strip and the last epoch's grid from the run folder.
    assert len(at.image) == 3
    assert "16 samples, seed 0" in at.image[0].captions[0]
    # A tiny run measures FID once and trains an epoch or two: numbers, not one-point charts.
    assert not at.get("vega_lite_chart")
    labels = [metric.label for metric in at.metric]
    assert any(label.startswith("FID (training s ") for label in labels), labels
    assert any(label.endswith("_loss (epoch 1)") or "loss (epoch" in label for label in labels)
    assert not [label for label in labels if "kid" in label.lower()]  # losses only
    assert "Fixed latents after epoch 1" in at.image[2].captions[0]
    assert len(at.get("download_button")) == 1
    at.slider(key="gan_num_samples").set_value(4)
    at.number_input(key="gan_seed").set_value(7).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert "4 samples, seed 7" in at.image[0].captions[0]
    captions = " ".join(caption.value for caption in at.caption)
    assert "efficientnet_lite0" in captions and "16 generated" in captions


def test_a_longer_run_charts_fid_and_losses_with_readable_axes(trained_runs_dir, monkeypatch):
    runs_dir, run = trained_runs_dir
    monkeypatch.setenv("TRANSFERZOO_RUNS_DIR", str(runs_dir))
    metrics, history = run.metrics, run.history
    curve = [{"train_seconds": 48.18 * step, "fid": 300.0 - 20 * step} for step in (1, 2, 3, 4)]
    losses = {"d_loss": [0.9, 0.8, 0.7, 0.65], "g_loss": [1.4, 1.2, 1.1, 1.05], "kid": [1] * 4}
    try:
        run.save_metrics(metrics | {"curve": curve})
        run.save_history({"gan": losses})
        at = open_gan_page()
        at.selectbox(key="gan_model").set_value(run.ref).run(timeout=TIMEOUT)
        assert not at.exception, at.exception
    finally:
        run.save_metrics(metrics)
        run.save_history(history)
    fid, loss = (json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart"))
    assert fid["encoding"]["x"]["axis"] == {
        "format": ",.4~g",
        "tickMinStep": 0,
        "title": ("training s"),
    }
    assert loss["encoding"]["x"]["axis"]["format"] == "d"  # whole epochs
    assert loss["encoding"]["y"]["axis"]["title"] == "loss"
    (data,) = at.get("vega_lite_chart")[1].proto.datasets
    rows = pyarrow.ipc.open_stream(data.data.data).read_all().to_pandas()
    assert set(rows["series"]) == {"d_loss", "g_loss"}  # not the KID
    assert not [metric for metric in at.metric if "(epoch" in metric.label]


@pytest.mark.parametrize(("requested", "chosen"), [("gan", "gan"), ("nonsense", None)])
def test_the_train_link_opens_the_train_page_with_the_gan_chosen(requested, chosen):
    at = open_page("app_pages/train.py", timeout=TIMEOUT, app=requested)
    assert not at.exception and not at.error
    app = at.selectbox(key="train_app")
    assert app.value == (chosen or "image_classify")
    assert "app" not in at.query_params  # applied once: the user's next choice stays
