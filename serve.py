"""Serve the app: `python serve.py [streamlit options]`, what `make run` does.

The same as `streamlit run app.py`, with one difference. When a `pages/` folder sits beside
the main script, Streamlit runs a fresh server's first script as an old-style multipage app
(the pages folder as the navigation, app.py's own `st.navigation` only afterwards), so the
first visitor who opens a link to /lecture got a "page not found" dialog. This app declares its
pages with `st.navigation` (app.py), so that first run is told so before it starts.
"""

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

if __name__ == "__main__":
    PagesManager.uses_pages_directory = False  # app.py's st.navigation lists the pages
    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *sys.argv[1:]]
    sys.exit(cli.main())
