"""Screenshot a page of a running lab with Debian's Chromium (for the README and for reviewing).

    python scripts/screenshot.py http://127.0.0.1:8501/Recommendations docs/screenshot.png [--height 2400] [--main]

--main crops to the page's main area (no sidebar). Start the app first (./run_app.sh).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM_ARGS, _chromium  # noqa: E402
from tests.browser.helpers import wait_idle  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("output")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--main", action="store_true", help="only the main area, not the sidebar")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.url)
        page.wait_for_selector("[data-testid='stApp']")
        wait_idle(page)
        page.wait_for_timeout(1000)  # let Vega finish drawing
        target = page.get_by_test_id("stMain") if args.main else page
        target.screenshot(path=args.output)
        browser.close()


if __name__ == "__main__":
    main()
