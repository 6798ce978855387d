"""A toy app that lives in the tests folder: it reverses text.

It plugs in as every app does, through its ``SPEC``, and proves that the pages and the Train
page find an app through the spec table alone.
"""

from pathlib import Path

from shared.app_spec import AppSpec, Compact, DemoData, Exporter
from tests.ui.toy_app.toy import (
    MODELS,
    SAMPLES,
    Predictor,
    ToyConfig,
    export_reversed_words,
    render_compact,
    summary,
    write_demo_data,
)

SPEC = AppSpec(
    name="toy",
    package=__name__,
    title="Toy reverser",
    icon=":material/swap_horiz:",
    description="Reverses the text it is given.",
    modality="text",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    samples=SAMPLES,
    compact=Compact(render_compact, summary),
    finetune_config=ToyConfig,
    demo_data=DemoData("three reversible words", write_demo_data),
    headline_metric="reversals",
    exporters=(Exporter("Export the reversed words", "export/words.txt", export_reversed_words),),
)
