"""TransferZoo's Streamlit entry point: a router built from the app registry.

Run it from the repository root with ``streamlit run streamlit_app.py``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # so `apps` and `shared` import however Streamlit is started
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps import APPS  # noqa: E402
from shared.ui.page_state import keep_widget_values  # noqa: E402
from shared.ui.preload import preload_default_models  # noqa: E402
from shared.ui.presentation import (  # noqa: E402
    apply_app_presets,
    presentation_requested,
    presentation_toggle,
)
from shared.ui.runtime import keep_keras_state_between_runs, serve_users_side_by_side  # noqa: E402

PAGES = ROOT / "app_pages"
# (file under app_pages/, title, icon, url path) of the pages that are not one app's.
SHARED_PAGES = (
    ("compare.py", "Compare", ":material/compare:", "compare"),
    ("chains.py", "Chains", ":material/link:", "chains"),
    ("stage.py", "Stage", ":material/co_present:", "stage"),
    ("train.py", "Train", ":material/model_training:", "train"),
    ("runs.py", "Runs", ":material/history:", "runs"),
    ("live.py", "Live", ":material/videocam:", "live"),
    ("teach.py", "Teach", ":material/school:", "teach"),
)


def build_pages(specs):
    """The Home page and the shared pages, then the page of each app in ``specs`` that has one."""
    home = st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True)
    shared = [
        st.Page(PAGES / file, title=title, icon=icon, url_path=url_path)
        for file, title, icon, url_path in SHARED_PAGES
    ]
    # Every app page is called page.py, so each needs its own URL path.
    apps = [
        st.Page(spec.page, title=spec.title, icon=spec.icon, url_path=spec.name)
        for spec in specs
        if spec.page is not None
    ]
    return {"TransferZoo": [home, *shared], "Apps": apps}


serve_users_side_by_side()  # one user's run never stops the others' pages
keep_keras_state_between_runs()  # cached models stay fast from one click to the next
preload_default_models(APPS)  # once per process, in the background ($TRANSFERZOO_PRELOAD=0: off)
st.set_page_config(
    page_title="TransferZoo",
    layout="wide",
    initial_sidebar_state="collapsed" if presentation_requested() else "auto",
)
keep_widget_values()  # before any widget: each page shows its last inputs when the user returns
page = st.navigation(build_pages(APPS))
presentation_toggle()
for spec in APPS:
    if page.url_path == spec.name:
        apply_app_presets(spec)
page.run()
