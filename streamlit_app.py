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


def build_pages():
    """The Home page, then one page per app that has an ``apps/<name>/page.py``."""
    home = st.Page(ROOT / "shared/ui/home.py", title="Home", icon=":material/home:", default=True)
    pages = [home]
    for spec in APPS:
        page_file = ROOT / "apps" / spec.name / "page.py"
        if page_file.is_file():
            # Every app page is called page.py, so each needs its own URL path.
            pages.append(st.Page(page_file, title=spec.title, icon=spec.icon, url_path=spec.name))
    return pages


st.set_page_config(page_title="TransferZoo", layout="wide")
st.navigation(build_pages()).run()
