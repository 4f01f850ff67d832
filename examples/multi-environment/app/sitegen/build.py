"""Builds the site: every content/*.md page rendered into templates/layout.html, plus static/."""

import html
import shutil
from pathlib import Path
from string import Template

from . import markdown


def page_name(source):
    """content/about.md -> about.html"""
    return source.stem + ".html"


def render_page(source_text, layout, site, version, nav):
    meta, body = markdown.split_front_matter(source_text)
    title = meta.get("title")
    if not title:
        raise ValueError("the page has no 'title' in its front matter")
    return Template(layout).substitute(
        site=html.escape(site),
        title=html.escape(title),
        nav=nav,
        content=markdown.to_html(body),
        version=html.escape(version),
    )


def navigation(pages):
    """The menu: (file name, title) pairs, index first, then the others by 'order' then title."""
    def key(item):
        name, meta = item
        return (name != "index.html", int(meta.get("order", 100)), meta.get("title", name))

    items = sorted(pages, key=key)
    links = [f'<a href="{name}">{html.escape(meta.get("title", name))}</a>' for name, meta in items]
    return "<nav>" + " | ".join(links) + "</nav>"


def build(content_dir, output_dir, templates_dir, static_dir, site, version):
    content_dir, output_dir = Path(content_dir), Path(output_dir)
    sources = sorted(content_dir.glob("*.md"))
    if not sources:
        raise ValueError(f"no pages (*.md) in {content_dir}")
    layout = (Path(templates_dir) / "layout.html").read_text(encoding="utf-8")
    texts = {source: source.read_text(encoding="utf-8") for source in sources}
    pages = []
    for source, text in texts.items():
        meta, _ = markdown.split_front_matter(text)
        pages.append((page_name(source), meta))
    nav = navigation(pages)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source, text in texts.items():
        try:
            page = render_page(text, layout, site, version, nav)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        target = output_dir / page_name(source)
        target.write_text(page, encoding="utf-8")
        written.append(target)
    static_dir = Path(static_dir)
    if static_dir.is_dir():
        for item in sorted(static_dir.rglob("*")):
            if item.is_file():
                target = output_dir / item.relative_to(static_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(item, target)
                written.append(target)
    (output_dir / "version.txt").write_text(version + "\n", encoding="utf-8")
    written.append(output_dir / "version.txt")
    return written
