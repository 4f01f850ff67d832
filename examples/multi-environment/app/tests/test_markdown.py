import unittest

from sitegen import markdown


class InlineTest(unittest.TestCase):
    def test_escapes_html(self):
        self.assertEqual(markdown.inline("a < b & c"), "a &lt; b &amp; c")

    def test_strong_emphasis_and_code(self):
        self.assertEqual(
            markdown.inline("**bold** and *soft* and `x < 1`"),
            "<strong>bold</strong> and <em>soft</em> and <code>x &lt; 1</code>",
        )

    def test_links(self):
        self.assertEqual(
            markdown.inline('see [the "docs"](docs.html)'),
            'see <a href="docs.html">the "docs"</a>',
        )

    def test_markup_inside_code_is_left_alone(self):
        self.assertEqual(markdown.inline("`**not bold**`"), "<code>**not bold**</code>")


class BlockTest(unittest.TestCase):
    def test_headings_get_ids(self):
        self.assertEqual(markdown.to_html("## How it works"), '<h2 id="how-it-works">How it works</h2>')

    def test_paragraph_lines_are_joined(self):
        self.assertEqual(markdown.to_html("one\ntwo\n\nthree"), "<p>one two</p>\n<p>three</p>")

    def test_lists(self):
        self.assertEqual(
            markdown.to_html("- a\n- b\n\n1. c\n2. d"),
            "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>c</li>\n<li>d</li>\n</ol>",
        )

    def test_a_list_ends_at_a_paragraph(self):
        self.assertEqual(markdown.to_html("- a\ntext"), "<ul>\n<li>a</li>\n</ul>\n<p>text</p>")

    def test_fenced_code_is_escaped_verbatim(self):
        self.assertEqual(
            markdown.to_html("```\n<b>\n  # not a heading\n```"),
            "<pre><code>&lt;b&gt;\n  # not a heading</code></pre>",
        )

    def test_unclosed_code_block_is_an_error(self):
        with self.assertRaises(ValueError):
            markdown.to_html("```\ncode")


class FrontMatterTest(unittest.TestCase):
    def test_reads_keys(self):
        meta, body = markdown.split_front_matter("---\nTitle: Home\norder: 2\n---\n# Hi")
        self.assertEqual(meta, {"title": "Home", "order": "2"})
        self.assertEqual(body, "# Hi")

    def test_no_front_matter(self):
        self.assertEqual(markdown.split_front_matter("# Hi"), ({}, "# Hi"))

    def test_unclosed_front_matter_is_an_error(self):
        with self.assertRaises(ValueError):
            markdown.split_front_matter("---\ntitle: x\n# Hi")


if __name__ == "__main__":
    unittest.main()
