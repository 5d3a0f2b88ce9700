"""The home page: what the lab is, a card per application, and the tutorial's table."""

from tests.pages.apptest_helpers import ROOT, assert_clean, run_page
from ui.catalog import APPLICATIONS


def test_home_page_has_the_tutorials_table_of_all_seven_applications_and_a_card_per_page():
    at = run_page("app.py")
    assert_clean(at)
    table = at.table[0].value
    assert list(table["Application"]) == [app.name for app in APPLICATIONS]
    assert list(table["Calculus concept"]) == [app.concept for app in APPLICATIONS]
    assert list(table["What it enables"]) == [app.enables for app in APPLICATIONS]
    cards = {link.proto.label for link in at.main.get("page_link")}
    assert cards == {app.name for app in APPLICATIONS if app.available}
    assert len(cards) == 7


def test_every_page_file_is_in_the_catalog_and_every_card_has_its_picture():
    pages = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert pages == {app.page for app in APPLICATIONS}
    for app in APPLICATIONS:
        assert (ROOT / app.thumbnail).is_file(), app.thumbnail
