"""The Translation page through ``streamlit.testing.v1.AppTest`` (offline, temp cache and runs).

Only the ``real_weights`` tests load a model: the bundled EN→PT one, once per process (the
page's ``st.cache_resource``); every other test stops before a model is needed.
"""

import pytest

from apps.translate.text import MAX_CHARACTERS
from tests.ui.apptest import open_page

PAGE = "apps/translate/page.py"
TIMEOUT = 180


def open_translate_page(source=None):
    """The app switched to the translation page (optionally to a text source), run once."""
    return open_page(PAGE, timeout=TIMEOUT, radio=source and ("translate_source", source))


def press_translate(at, text=None):
    """Type ``text`` (when given) and press Translate."""
    if text is not None:
        at.text_area(key="translate_text").input(text)
    at.button(key="translate_run").click().run()
    assert not at.exception, at.exception
    return at


def upload(at, name, content):
    at.file_uploader(key="translate_upload").upload(name, content, "text/plain")
    at.run()
    assert not at.exception, at.exception
    return at


def errors(at):
    return [error.value for error in at.error]


def shown_text(at):
    return "\n".join(markdown.value for markdown in at.markdown)


def test_page_renders_offline_with_its_options():
    at = open_translate_page()
    assert not at.error and not at.warning, errors(at)
    assert at.title[0].value.endswith("Translation")
    assert at.radio(key="translate_direction").value == "en-pt"
    assert at.selectbox(key="translate_model").value == "bundled:bergamot_en_pt"
    assert at.slider(key="translate_beam_size").value == 1
    assert at.slider(key="translate_alternatives").disabled
    assert not [box for box in at.selectbox if box.key == "translate_t5_target"]
    assert len(at.text_area) == 1 and not at.metric


def test_direction_and_model_choice_follow_each_other():
    at = open_translate_page()
    at.radio(key="translate_direction").set_value("pt-en").run()
    assert at.selectbox(key="translate_model").value == "bundled:bergamot_pt_en"
    assert "Um gato" in at.selectbox(key="translate_sample_pt").options
    at.selectbox(key="translate_model").set_value("bundled:bergamot_en_pt").run()
    assert at.radio(key="translate_direction").value == "en-pt"
    assert not at.exception and not at.error and not at.warning, errors(at)


def test_a_sample_fills_the_text_area():
    at = open_translate_page()
    at.selectbox(key="translate_sample").set_value("A cat").run()
    assert at.text_area(key="translate_text").value == "The cat is sleeping on the sofa."


@pytest.mark.real_weights
def test_homes_sample_link_fills_the_text_area_and_translates_it():
    at = open_page(PAGE, timeout=TIMEOUT, sample="Travel")
    assert at.text_area(key="translate_text").value.startswith("The train to Lisbon")
    assert "sample" not in at.query_params
    assert "lisboa" in shown_text(at).lower(), errors(at)


def test_a_picked_sample_can_be_cleared():
    at = open_translate_page()
    at.selectbox(key="translate_sample").set_value("A cat").run()
    at.text_area(key="translate_text").input("").run()
    at.run()
    assert at.text_area(key="translate_text").value == ""
    assert not at.exception and not at.error, errors(at)


def test_switching_direction_empties_a_sample_of_the_other_language():
    at = open_translate_page()
    at.selectbox(key="translate_sample").set_value("A cat").run()
    at.radio(key="translate_direction").set_value("pt-en").run()
    assert at.text_area(key="translate_text").value == ""
    at.text_area(key="translate_text").input("Meu texto.").run()
    at.radio(key="translate_direction").set_value("en-pt").run()
    assert at.text_area(key="translate_text").value == "Meu texto."  # typed: kept


def test_empty_text_is_an_error_not_a_traceback():
    at = press_translate(open_translate_page(), "   \n ")
    assert len(at.error) == 1 and "no text to translate" in at.error[0].value
    assert not at.metric


def test_too_long_text_is_an_error_naming_the_limit():
    at = press_translate(open_translate_page(), "word " * (MAX_CHARACTERS // 5 + 1))
    assert len(at.error) == 1 and f"the limit is {MAX_CHARACTERS:,}" in at.error[0].value
    assert not at.metric


def test_non_utf8_upload_is_an_error():
    at = upload(open_translate_page("Upload"), "notas.txt", "café com leite".encode("latin-1"))
    assert len(at.error) == 1
    assert "notas.txt" in at.error[0].value and "not UTF-8" in at.error[0].value
    assert at.button(key="translate_run").disabled


def test_oversized_upload_is_refused_with_the_limit():
    at = upload(open_translate_page("Upload"), "book.txt", b"a" * (2**20 + 1))
    assert len(at.error) == 1 and "the limit is 1 MB" in at.error[0].value


def test_t5_preset_asks_a_target_language_and_needs_the_network():
    at = open_translate_page()
    at.toggle(key="translate_model_online").set_value(True).run()
    at.selectbox(key="translate_model").set_value("t5_small_multi").run()
    assert at.selectbox(key="translate_t5_target").options == ["German", "French", "Romanian"]
    at = press_translate(at, "The cat is sleeping.")
    message = " ".join(errors(at))
    assert "needs the network" in message and "bundled:bergamot_en_pt" in message
    assert not at.metric


@pytest.fixture(scope="module")
def translated():
    """The page after translating an English sentence with the real bundled EN→PT model."""
    return press_translate(open_translate_page(), "The cat is sleeping.")


@pytest.mark.real_weights
def test_english_text_is_translated_to_portuguese(translated):
    assert not translated.error, errors(translated)
    assert "gato" in shown_text(translated).lower()
    metrics = {metric.label: metric.value for metric in translated.metric}
    assert set(metrics) == {"Latency", "Sentences", "Characters/s"} and metrics["Sentences"] == "1"
    assert "English → Portuguese" in " ".join(caption.value for caption in translated.caption)
    assert len(translated.get("download_button")) == 1
    table = translated.dataframe[0].value
    assert list(table.columns) == ["source", "translation", "score"]
    assert table["source"].tolist() == ["The cat is sleeping."]


@pytest.mark.real_weights
def test_changed_options_keep_the_result_with_a_note_and_swap_translates_back(translated):
    at = translated
    at.slider(key="translate_beam_size").set_value(2).run()
    assert "gato" in shown_text(at).lower()  # still shown
    notes = " ".join(caption.value for caption in at.caption)
    assert "changed since: press Translate" in notes
    at.button(key="translate_swap").click().run()
    assert not at.exception and not at.error, errors(at)
    assert at.radio(key="translate_direction").value == "pt-en"
    assert at.selectbox(key="translate_model").value == "bundled:bergamot_pt_en"
    assert "gato" in at.text_area(key="translate_text").value.lower()
    assert "cat" in at.markdown[-1].value.lower() or "cat" in shown_text(at).lower()


@pytest.mark.real_weights
def test_beam_search_shows_alternatives(translated):
    at = open_translate_page()  # the model stays loaded: ``translated`` loaded it once
    at.text_area(key="translate_text").input("The cat is sleeping.")
    at.slider(key="translate_beam_size").set_value(4).run()  # enables the alternatives
    at.slider(key="translate_alternatives").set_value(3)
    at = press_translate(at)
    assert not at.error, errors(at)
    assert "Other translations" in shown_text(at)
    alternatives = at.dataframe[1].value
    assert alternatives["rank"].tolist() == [1, 2, 3]
    assert "gato" in " ".join(alternatives["alternative"]).lower()
