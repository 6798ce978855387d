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
from shared.ui.preload import preload_default_models  # noqa: E402
from shared.ui.presentation import apply_page_presets, presentation_toggle  # noqa: E402
from shared.ui.runtime import keep_keras_state_between_runs, serve_users_side_by_side  # noqa: E402

# (file under shared/ui, title, icon, url path) of the pages that are not one app's.
SHARED_PAGES = (
    ("compare.py", "Compare", ":material/compare:", "compare"),
    ("chains.py", "Chains", ":material/link:", "chains"),
    ("train.py", "Train", ":material/model_training:", "train"),
    ("runs_page.py", "Runs", ":material/history:", "runs"),
)


def build_pages():
    """The Home page and the shared pages, then one page per app with an ``apps/<name>/page.py``."""
    home = st.Page(ROOT / "shared/ui/home.py", title="Home", icon=":material/home:", default=True)
    shared = [
        st.Page(ROOT / "shared/ui" / file, title=title, icon=icon, url_path=url_path)
        for file, title, icon, url_path in SHARED_PAGES
    ]
    apps = []
    for spec in APPS:
        page_file = ROOT / "apps" / spec.name / "page.py"
        if page_file.is_file():
            # Every app page is called page.py, so each needs its own URL path.
            apps.append(st.Page(page_file, title=spec.title, icon=spec.icon, url_path=spec.name))
    return {"TransferZoo": [home, *shared], "Apps": apps}


serve_users_side_by_side()  # one user's run never stops the others' pages
keep_keras_state_between_runs()  # cached models stay fast from one click to the next
preload_default_models()  # once per process, in the background ($TRANSFERZOO_PRELOAD=0: off)
st.set_page_config(page_title="TransferZoo", layout="wide")
page = st.navigation(build_pages())
apply_page_presets(page.url_path, presentation_toggle())
page.run()
