"""The home page: what the lab is, and the table linking to every page that exists."""

from tests.pages.apptest_helpers import ROOT, assert_clean, run_page
from ui.catalog import APPLICATIONS


def test_home_page_lists_all_seven_applications_and_links_the_existing_pages():
    at = run_page("app.py")
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    for app in APPLICATIONS:
        assert app.name in text or any(app.name == link.proto.label for link in at.get("page_link"))
        assert app.concept in text and app.enables in text
    main_links = {link.proto.label for link in at.main.get("page_link")}
    existing = {app.name for app in APPLICATIONS if app.page and (ROOT / app.page).is_file()}
    assert "Recommendations" in existing
    assert main_links == existing
    coming = [app.name for app in APPLICATIONS if app.name not in existing]
    assert all(f"{name} — coming" in text for name in coming)


def test_every_page_file_is_in_the_catalog():
    pages = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert pages <= {app.page for app in APPLICATIONS}
