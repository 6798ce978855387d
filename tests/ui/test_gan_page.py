"""The Image generation page through ``streamlit.testing.v1.AppTest`` (offline, temp runs)."""

import numpy as np
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
    message = " ".join(info.value for info in at.info)
    assert "--model bundled:dcgan_faces --data" in message
    assert "python -m apps.gan.finetune --data fashion-mnist" in message


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
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # FID over training time, and the losses (not FID/KID again)
    assert '"title": "loss"' in charts[1].proto.spec
    assert "Fixed latents after epoch 1" in at.image[2].captions[0]
    assert len(at.get("download_button")) == 1
    at.slider(key="gan_num_samples").set_value(4)
    at.number_input(key="gan_seed").set_value(7).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert "4 samples, seed 7" in at.image[0].captions[0]
    captions = " ".join(caption.value for caption in at.caption)
    assert "efficientnet_lite0" in captions and "16 generated" in captions
