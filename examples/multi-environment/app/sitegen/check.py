"""Checks a built site: every local href/src points at a file that exists in it.

    python3 -m sitegen.check OUTPUT_DIR
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def local_target(link):
    """The path a link names inside the site, or None for external links and fragments."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return parts.path


def broken_links(site_dir):
    site_dir = Path(site_dir)
    broken = []
    for page in sorted(site_dir.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            target = local_target(link)
            if target is None:
                continue
            base = site_dir if target.startswith("/") else page.parent
            if not (base / target.lstrip("/")).is_file():
                broken.append((page.relative_to(site_dir).as_posix(), link))
    return broken


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python3 -m sitegen.check OUTPUT_DIR", file=sys.stderr)
        return 2
    site_dir = Path(argv[0])
    pages = list(site_dir.rglob("*.html"))
    if not pages:
        print(f"check: no pages in {site_dir}", file=sys.stderr)
        return 1
    broken = broken_links(site_dir)
    for page, link in broken:
        print(f"check: {page}: broken link {link}", file=sys.stderr)
    if broken:
        return 1
    print(f"check: {len(pages)} pages, every local link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
