"""First load of /dashboard in Debian's Chromium: time from navigation to KPI cards and both
charts drawn, median of fresh browser contexts (a script, not a test).

    python bench/dashboard_load.py --url http://127.0.0.1:8000 --key demo-admin-key
"""

from __future__ import annotations

import argparse
import statistics

from playwright.sync_api import sync_playwright

SHOWN = """() => new Promise(resolve => {
  const done = () => document.querySelector('.card .value') &&
    document.querySelectorAll('.uplot').length === 2;
  const check = () => done() ? resolve(performance.now()) : requestAnimationFrame(check);
  check();
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default="demo-admin-key")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.add_init_script(f"sessionStorage.setItem('gigmetrics.apiKey', {args.key!r})")
            page.goto(f"{args.url}/dashboard")
            times.append(page.evaluate(SHOWN))
            context.close()
        browser.close()
    print(f"first load to cards + charts: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms over {args.runs} fresh contexts")


if __name__ == "__main__":
    main()
