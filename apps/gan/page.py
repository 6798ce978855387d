"""The Image generation page: sample the bundled face generator or a trained GAN, walk its
latent space, see a run's training.

The generator loads through ``shared.ui.widgets.cached_model`` (``st.cache_resource``), never
at the top of this script, so reruns reuse it.
"""

import io

import numpy as np
import pandas as pd
import streamlit as st

from apps.gan import SPEC
from apps.gan.predictor import Predictor, image_grid
from shared.runs import list_runs
from shared.ui.charts import show_series
from shared.ui.widgets import cached_model, show_error

KEY = "gan"
TRAIN_COMMAND = (
    "python -m apps.gan.finetune --data fashion-mnist --max-images 5000 --time-budget-minutes 6"
)
FINETUNE_COMMAND = (
    f"python -m apps.gan.finetune --model {SPEC.models.default_model} --data FOLDER_OF_FACES "
    "--time-budget-minutes 5"
)
BUNDLED_LABELS = {
    "bundled:dcgan_faces": "bundled:dcgan_faces — pretrained faces (DigiFace-1M, 64 px)"
}
TRAIN_PAGE = "app_pages/train.py"
DISPLAY_WIDTH = 960  # generated images are 16-128 px: enlarge them to be seen
MAX_SAMPLES = 64


def complete_runs():
    """The complete GAN runs, newest first; None after an ``st.error`` if unreadable."""
    try:
        return list_runs(SPEC.name, include_incomplete=False)
    except (OSError, ValueError) as error:
        show_error(error, hint="Check the runs folder ($TRANSFERZOO_RUNS_DIR or runs/).")
        return None


def run_label(run):
    """``run:<id> — projected, FID 42.1`` for the run list."""
    try:
        metrics = run.metrics
    except ValueError:  # corrupt metrics.json: still selectable
        return f"{run.ref} — metrics unreadable"
    fid = metrics.get("fid")
    score = f", FID {fid:.1f}" if isinstance(fid, (int, float)) else ""
    return f"{run.ref} — {metrics.get('architecture', 'GAN')}{score}"


def upscale(image, width=DISPLAY_WIDTH):
    """Nearest-neighbour enlargement by a whole factor (pixels stay sharp, not blurred)."""
    scale = max(1, width // image.shape[1])
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


def png_bytes(image):
    """A uint8 RGB array encoded as PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def sidebar_controls(runs):
    """Generator choice, sample count, seeds and interpolation steps from the sidebar."""
    labels = {f"bundled:{name}": f"bundled:{name}" for name in SPEC.models.bundled}
    labels |= BUNDLED_LABELS | {run.ref: run_label(run) for run in runs}
    ref = st.selectbox(
        "Generator",
        list(labels),
        format_func=labels.get,
        key=f"{KEY}_model",
        help="The bundled pretrained generator, or a complete GAN run",
    )
    num_samples = st.slider("Number of samples", 1, MAX_SAMPLES, 16, key=f"{KEY}_num_samples")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key=f"{KEY}_seed")
    st.caption("Latent interpolation")
    seed_b = st.number_input("To seed", 0, 2**31 - 1, 1, key=f"{KEY}_seed_b")
    steps = st.slider("Steps", 3, 16, 8, key=f"{KEY}_steps")
    return ref, num_samples, int(seed), int(seed_b), steps


def render_samples(predictor, num_samples, seed):
    """A grid of ``num_samples`` images from ``seed`` and a download button for it."""
    try:
        samples = predictor.predict(num_samples, seed)
    except ValueError as error:
        show_error(error, hint="Pick another number of samples or seed.")
        return
    grid = image_grid(samples.images, columns=min(8, num_samples))
    st.image(
        upscale(grid),
        caption=f"{num_samples} samples, seed {seed} ({samples.latency_ms:.0f} ms)",
    )
    st.download_button(
        "Download the grid (PNG)",
        png_bytes(grid),
        file_name=f"samples_seed{seed}.png",
        mime="image/png",
        key=f"{KEY}_download",
    )


def render_interpolation(predictor, seed_a, seed_b, steps):
    """Images along the straight line between the first latents of two seeds."""
    strip = image_grid(predictor.interpolate(seed_a, seed_b, steps), columns=steps)
    st.image(upscale(strip), caption=f"From seed {seed_a} to seed {seed_b} in {steps} steps")


def describe_measurements(metrics):
    """What the run's FID/KID were measured with, in one sentence."""
    fid_samples = metrics.get("fid_samples", "?")
    num_images = metrics.get("num_images", "?")
    real = min(fid_samples, num_images) if isinstance(num_images, int) else fid_samples
    return (
        f"FID/KID on {metrics.get('feature_network', 'unknown')} features, "
        f"{fid_samples} generated vs {real} real images (of {num_images} training images). "
        "Compare runs with each other, not with published (InceptionV3) FIDs."
    )


def render_curves(metrics, history):
    """FID over training time and the two losses per epoch (numbers for short runs)."""
    curve = pd.DataFrame(metrics.get("curve") or [])
    if {"train_seconds", "fid"} <= set(curve.columns):
        curve = curve[["train_seconds", "fid"]].rename(columns={"fid": "FID"})
        show_series(curve, "train_seconds", ["FID"], x_label="training s", y_label="FID")
    losses = pd.DataFrame(history.get("gan") or {})
    losses = losses[[name for name in losses.columns if name.endswith("loss")]]  # not FID/KID
    if not losses.empty:
        losses.insert(0, "epoch", range(1, len(losses) + 1))
        names = list(losses.columns[1:])
        show_series(losses, "epoch", names, x_label="epoch", y_label="loss", whole_x=True)


def render_training(run):
    """The run's architecture, measurement setup, curves and its last epoch's sample grid."""
    try:
        metrics, history, config = run.metrics, run.history, run.config
    except ValueError as error:  # a corrupt JSON file in the run folder
        show_error(error, hint="The run's files are damaged; pick or train another run.")
        return
    architecture, fid = st.columns(2)
    architecture.metric("Architecture", metrics.get("architecture", "?"))
    if isinstance(metrics.get("fid"), (int, float)):
        fid.metric("Final FID", f"{metrics['fid']:.1f}")
    size = metrics.get("image_size", config.get("image_size", "?"))
    start = metrics.get("start", "scratch")
    origin = (
        f"critic features: {config.get('model', '?')}"
        if start == "scratch"
        else f"fine-tuned from {start}"
    )
    st.caption(
        f"Trained on {config.get('data', '?')} at {size} px; {origin}. "
        f"{describe_measurements(metrics)}"
    )
    render_curves(metrics, history)
    grids = sorted(run.artifact("samples").glob("epoch*_0000.png"))
    if grids:
        from PIL import Image

        with Image.open(grids[-1]) as grid:
            pixels = np.asarray(grid.convert("RGB"))
        epoch = grids[-1].stem.split("_")[0].removeprefix("epoch").lstrip("0") or "0"
        st.image(upscale(pixels), caption=f"Fixed latents after epoch {epoch}")


def render_bundled(ref):
    """What the bundled generator is, and how to fine-tune it or train a GAN of one's own."""
    st.caption(
        f"{ref}: the PyTorch DCGAN tutorial's generator trained on DigiFace-1M (64×64 faces), "
        "from the gan-face-generate package (MIT). No training run: it samples at once."
    )
    st.info(
        "Train a GAN of your own on the Train page (a demo set, your images or Fashion-MNIST); "
        "its runs appear in the Generator list here."
    )
    st.page_link(
        TRAIN_PAGE,
        label="Train a GAN on the Train page",
        icon=":material/model_training:",
        query_params={"app": SPEC.name},
    )
    st.caption(
        "Or from a command line: fine-tune this generator on your own images (a "
        f"discriminator trains alongside), or train one from scratch:\n\n`{FINETUNE_COMMAND}`"
        f"\n\n`{TRAIN_COMMAND}`"
    )


def main():
    """Render the page: generator and seeds in the sidebar; samples, interpolation, training."""
    st.title(f"{SPEC.icon} {SPEC.title}")
    st.caption(SPEC.description)
    runs = complete_runs()
    if runs is None:
        return
    with st.sidebar:
        ref, num_samples, seed, seed_b, steps = sidebar_controls(runs)
    predictor = cached_model(Predictor.load, ref, spec=SPEC)
    if predictor is None:
        return
    run = next((run for run in runs if run.ref == ref), None)
    samples, interpolation, training = st.tabs(["Samples", "Interpolation", "Training"])
    with samples:
        render_samples(predictor, num_samples, seed)
    with interpolation:
        render_interpolation(predictor, seed, seed_b, steps)
    with training:
        if run is None:
            render_bundled(ref)
        else:
            render_training(run)


main()
