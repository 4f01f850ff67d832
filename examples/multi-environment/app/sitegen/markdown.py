"""A small Markdown subset, enough for the site's pages.

Blocks: front matter (``---`` / ``key: value`` lines / ``---``), ``#`` headings (levels 1-6),
paragraphs, ``-``/``*`` bullet lists, ``1.`` numbered lists, fenced code blocks (```).
Inline: **strong**, *emphasis*, `code`, [text](url). Everything else is text, HTML-escaped.
"""

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\d+[.)]\s+(.*)$")
_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<strong>.+?)\*\*"
    r"|\*(?P<em>[^*]+)\*"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)"
)


def split_front_matter(text):
    """Returns (metadata dict, body) for a page that may start with a ``---`` block."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[index + 1:])
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"front matter line {index + 1} is not 'key: value': {line!r}")
        meta[key.strip().lower()] = value.strip()
    raise ValueError("front matter is not closed with ---")


def inline(text):
    """Renders the inline markup of one line of text."""
    out = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[position:match.start()], quote=False))
        if match.group("code") is not None:
            out.append(f"<code>{html.escape(match.group('code'), quote=False)}</code>")
        elif match.group("strong") is not None:
            out.append(f"<strong>{inline(match.group('strong'))}</strong>")
        elif match.group("em") is not None:
            out.append(f"<em>{inline(match.group('em'))}</em>")
        else:
            url = html.escape(match.group("url"), quote=True)
            out.append(f'<a href="{url}">{inline(match.group("text"))}</a>')
        position = match.end()
    out.append(html.escape(text[position:], quote=False))
    return "".join(out)


def slug(text):
    """The id a heading gets: lower case, words joined by '-'."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words) or "section"


def to_html(text):
    """Renders a Markdown body (without front matter) to HTML."""
    out = []
    paragraph = []
    list_tag = None
    code = None

    def flush_paragraph():
        if paragraph:
            out.append("<p>" + inline(" ".join(paragraph)) + "</p>")
            paragraph.clear()

    def close_list():
        nonlocal list_tag
        if list_tag:
            out.append(f"</{list_tag}>")
            list_tag = None

    for line in text.splitlines():
        if code is not None:
            if line.strip().startswith("```"):
                out.append("<pre><code>" + html.escape("\n".join(code), quote=False) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("```"):
            flush_paragraph()
            close_list()
            code = []
            continue
        if not stripped:
            flush_paragraph()
            close_list()
            continue
        heading = _HEADING.match(stripped)
        bullet = _BULLET.match(stripped)
        numbered = _NUMBERED.match(stripped)
        if heading:
            flush_paragraph()
            close_list()
            level = len(heading.group(1))
            title = heading.group(2)
            out.append(f'<h{level} id="{slug(title)}">{inline(title)}</h{level}>')
        elif bullet or numbered:
            flush_paragraph()
            tag = "ul" if bullet else "ol"
            if list_tag != tag:
                close_list()
                out.append(f"<{tag}>")
                list_tag = tag
            out.append("<li>" + inline((bullet or numbered).group(1)) + "</li>")
        else:
            close_list()
            paragraph.append(stripped)
    if code is not None:
        raise ValueError("a fenced code block is not closed with ```")
    flush_paragraph()
    close_list()
    return "\n".join(out)
