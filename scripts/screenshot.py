"""Screenshots of a running lab with Debian's Chromium: one page, or the home page's thumbnails.

    python scripts/screenshot.py http://127.0.0.1:8501/Recommendations docs/screenshot.png [--height 2400] [--main]
    python scripts/screenshot.py http://127.0.0.1:8501 --thumbnails      # docs/thumbnails/<page>.png

--main crops to the page's main area (no sidebar). --thumbnails takes the first chart-filled screen
of every page in ui.catalog (the first chart and what is around it), shrunk to a card's width.
Start the app first (./run_app.sh).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM_ARGS, _chromium  # noqa: E402
from tests.browser.helpers import wait_idle  # noqa: E402
from ui.catalog import APPLICATIONS  # noqa: E402

THUMBNAIL_WIDTH = 480


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp']")
    wait_idle(page)
    page.wait_for_timeout(1000)  # let Vega finish drawing


def thumbnails(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for app in APPLICATIONS:
            if not (app.available and app.thumbnail):
                continue
            _open(page, f"{base}/{app.url_path}")
            chart = page.get_by_test_id("stVegaLiteChart").first
            chart.scroll_into_view_if_needed()
            box = chart.bounding_box()
            main = page.get_by_test_id("stMain").bounding_box()
            clip = {"x": main["x"], "y": max(box["y"] - 60, 0), "width": main["width"], "height": 640}
            png = Image.open(io.BytesIO(page.screenshot(clip=clip)))
            png = png.resize((THUMBNAIL_WIDTH, round(png.height * THUMBNAIL_WIDTH / png.width)), Image.LANCZOS)
            out = ROOT / app.thumbnail
            out.parent.mkdir(parents=True, exist_ok=True)
            png.convert("RGB").save(out, optimize=True)
            print("wrote", out)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--main", action="store_true", help="only the main area, not the sidebar")
    parser.add_argument("--thumbnails", action="store_true", help="every page's card picture for the home page")
    args = parser.parse_args()
    if args.thumbnails:
        thumbnails(args.url.rstrip("/"))
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        _open(page, args.url)
        target = page.get_by_test_id("stMain") if args.main else page
        target.screenshot(path=args.output)
        browser.close()


if __name__ == "__main__":
    main()
