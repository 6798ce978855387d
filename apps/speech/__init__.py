"""Speech recognition on Whisper (bundled tiny.en, offline) and keras-hub presets."""

from apps import AppSpec

SPEC = AppSpec(
    name="speech",
    title="Speech to text",
    icon=":material/mic:",
    description="Transcribe English speech from the microphone or a file, offline.",
    modality="audio",
    default_model="bundled:whisper_tiny_en",
    bundled={"whisper_tiny_en": "apps.speech.weights:convert_whisper_tiny_en"},
    hub_presets=(
        "whisper_tiny_en",
        "whisper_base_en",
        "whisper_small_en",
        "whisper_tiny_multi",
        "whisper_base_multi",
        "whisper_small_multi",
        "moonshine_tiny_en",
        "moonshine_base_en",
    ),
)
