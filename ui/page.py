"""Page setup shared by every page, and the navigation the entrypoint builds from the catalog."""

from __future__ import annotations

import streamlit as st

from ui import controls, workshop
from ui.catalog import APPLICATIONS, Application, application


# A display formula wider than its column (a phone's 390 pixels, a narrow column) scrolls sideways inside its
# own box, with a thin visible scroll bar, instead of being cut at the edge or widening the page; the box
# never grows past the column.
_CSS = """<style>
[class*="st-key-lab-formula-"], [class*="st-key-lab-formula-"] [data-testid="stMarkdownContainer"] {
  max-width: 100%; min-width: 0; }
[class*="st-key-lab-formula-"] .katex-display { overflow-x: auto; overflow-y: hidden; max-width: 100%;
  scrollbar-width: thin; padding-bottom: 0.35rem; -webkit-overflow-scrolling: touch; }
</style>"""


def setup_page(page_file: str) -> Application:
    """First Streamlit call of every page: config, CSS, title and one-line summary from ui.catalog,
    and the page's name for the control kit (its session keys are ``"<page>:<key>"``).

    ``page_file`` is the page's path from the repository root, e.g. ``"pages/1_Recommendations.py"``.
    """
    _leave_pages_directory_mode()
    app = application(page_file)
    st.session_state[controls._PAGE] = app.slug
    st.set_page_config(page_title=f"{app.name} · Calculus in ML Lab", page_icon=app.icon, layout="wide",
                       initial_sidebar_state="collapsed" if _presenting_from_url() else "auto")
    controls.registry().clear()
    controls.registry()[workshop.PRESENT.key] = workshop.PRESENT
    if controls.state_key(workshop.PRESENT) not in st.session_state:  # the page entered: the link, else the session
        st.session_state[controls.state_key(workshop.PRESENT)] = (
            _presenting_from_url() if workshop.PRESENT.key in st.query_params
            else bool(st.session_state.get(workshop.PRESENTING, False)))
    workshop.style()
    st.html(_CSS)
    st.title(app.name)
    workshop.explain(f"**{app.concept}** → {app.enables.lower()}. {app.blurb}", caption=True)
    return app


def begin(page_file: str, page_controls, settings_type, *, fragment_controls=()):
    """The top of every page: setup, the lessons bar, the controls (a lesson's at hand in the
    presenter view), Reset and the sidebar tools. Returns (application, settings, current lesson).
    ``fragment_controls``: those drawn further down (in a fragment) that a lesson sets."""
    app = setup_page(page_file)
    workshop.open_named_lesson(app.presets, controls.with_defaults(page_controls, settings_type)
                               + tuple(fragment_controls))
    lesson, banner = workshop.lesson_bar(app.presets)
    settings = controls.panel(page_controls, settings_type, at_hand=workshop.at_hand(lesson), main=st.container())
    workshop.show_lesson(lesson, banner, fragment_controls)
    controls.reset_button()
    workshop.sidebar_tools()
    return app, settings, lesson


def _leave_pages_directory_mode() -> None:
    """Make sure app.py's ``st.navigation`` is in charge. Streamlit starts every process in its old
    multipage mode when a ``pages/`` folder exists, and stays there if the first visitor opens a page
    directly (a shared link): that page then runs without app.py, with the folder's own navigation.
    ``st.navigation`` switches the mode off; a page reached the old way switches it off itself and
    reruns, so that app.py draws it."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _presenting_from_url() -> bool:
    """The link's ``present=``, read as every switch is (true/false, 1/0, yes/no, on/off); any other
    value is off, and named in the toast of the link's unusable values, as any control's would be."""
    if workshop.PRESENT.key not in st.query_params:
        return False
    try:
        return workshop.PRESENT.parse(st.query_params[workshop.PRESENT.key], {})
    except ValueError:
        rejected = st.session_state.setdefault(controls._REJECTED, [])
        if workshop.PRESENT.label not in rejected:
            rejected.append(workshop.PRESENT.label)
        return False


def navigation():
    """``st.navigation`` over the home page and every available application, titles and icons from
    the catalog, URL paths kept (``/Recommendations``, …) so links shared before still open."""
    from ui.home import home

    pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    pages += [st.Page(app.page, title=app.name, icon=app.icon, url_path=app.url_path)
              for app in APPLICATIONS if app.available]
    return st.navigation(pages)
