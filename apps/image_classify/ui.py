"""What the pages use of image classification: its samples, its compact view, its demo data."""

from apps.image_classify.data import synthetic_shapes, write_image_folder
from shared.app_spec import DemoData
from shared.ui.samples import image_samples

SAMPLES = image_samples(("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left"))


def predictions_table(result, *, with_index=False):
    """The top-k classes as a DataFrame (rank order)."""
    import pandas as pd

    table = {
        "label": [prediction.label for prediction in result.predictions],
        "probability": [prediction.score for prediction in result.predictions],
    }
    if with_index:
        table["class index"] = [prediction.index for prediction in result.predictions]
    return pd.DataFrame(table)


def render_compact(result, image):
    """The top class and the top-k table, in a narrow column."""
    import streamlit as st

    from shared.ui.widgets import probability_table

    best = result.predictions[0]
    st.metric("Top class", best.label, f"{best.score:.1%}", delta_color="off")
    probability_table(predictions_table(result))


def summary(result):
    """``tabby (54%)``."""
    best = result.predictions[0]
    return f"{best.label} ({best.score:.0%})"


def write_demo_data(folder):
    """Three classes of coloured shapes, 20 images each, one folder per class."""
    write_image_folder(synthetic_shapes(num_per_class=20, image_size=64, seed=0), folder)


DEMO_DATA = DemoData(
    "coloured squares, circles and stripes (3 classes, 20 images each)", write_demo_data
)
