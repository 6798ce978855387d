"""Widget values that survive page switches.

Streamlit forgets the value of a widget that a run does not draw, so leaving a page and
coming back would bring its defaults back. ``keep_widget_values`` (called by the router
before any widget is drawn) writes each keyed widget's value back through
``st.session_state``, which keeps it until the widget is drawn again. Buttons, uploaders,
camera and audio inputs, chat inputs and editable tables cannot take a value from
``st.session_state``: their values are left alone.
"""

from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.state import get_session_state

from shared.ui.widgets import show_error

# The kinds of value (Streamlit's widget metadata) of the widgets whose value can be set:
# select boxes, radios, sliders, toggles, checkboxes, text and number inputs, multiselects.
SETTABLE_VALUE_TYPES = frozenset(
    {
        "bool_value",
        "int_value",
        "double_value",
        "string_value",
        "int_array_value",
        "double_array_value",
        "string_array_value",
    }
)


def settable_widget_keys(state):
    """The user keys in Streamlit's ``state`` (a ``SessionState``) whose widget takes a
    value through ``st.session_state``; selections and table edits (mappings) are left out."""
    keys = []
    for key in state.filtered_state:
        widget_id = state.get_widget_id_from_key(key)
        metadata = widget_id and state.get_widget_metadata(widget_id)
        if metadata and metadata.value_type in SETTABLE_VALUE_TYPES:
            try:
                value = state[key]
            except KeyError:  # a widget registered but without a value yet
                continue
            if not isinstance(value, Mapping):
                keys.append(key)
    return keys


def keep_widget_values():
    """Keep the value of every settable keyed widget, drawn in this run or not, so that a
    page shows its last inputs and choices when the user comes back to it."""
    state = get_session_state()._state  # Streamlit's SessionState behind st.session_state
    for key in settable_widget_keys(state):
        st.session_state[key] = st.session_state[key]


def session_object(name, build, *, preparing, hint):
    """``st.session_state[name]``, built by ``build()`` under a ``preparing`` spinner on this
    session's first call; None after a one-line error (with ``hint``) when it cannot be."""
    if name not in st.session_state:
        try:
            with st.spinner(preparing):
                st.session_state[name] = build()
        except (ValueError, OSError) as error:
            show_error(error, hint=hint)
            return None
    return st.session_state[name]
