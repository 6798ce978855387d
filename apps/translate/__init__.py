"""Translation: Bergamot EN↔PT students in Keras (bundled, offline) and keras-hub T5 presets."""

from apps import AppSpec

SPEC = AppSpec(
    name="translate",
    title="Translation",
    icon=":material/translate:",
    description="Translate between English and Portuguese offline, or fine-tune a new pair.",
    modality="text",
    default_model="bundled:bergamot_en_pt",
    bundled={
        "bergamot_en_pt": "apps.translate.weights:convert_bergamot_en_pt",
        "bergamot_pt_en": "apps.translate.weights:convert_bergamot_pt_en",
    },
    hub_presets=("t5_small_multi", "t5_base_multi", "t5_large_multi"),
)
