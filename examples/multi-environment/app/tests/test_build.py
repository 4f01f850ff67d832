import tempfile
import unittest
from pathlib import Path

from sitegen import build, check

LAYOUT = "<title>$title · $site</title>$nav<main>$content</main><footer>$version</footer>"


class BuildTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "content").mkdir()
        (self.root / "templates").mkdir()
        (self.root / "static").mkdir()
        (self.root / "templates" / "layout.html").write_text(LAYOUT)
        (self.root / "static" / "style.css").write_text("body {}")

    def tearDown(self):
        self.tmp.cleanup()

    def page(self, name, text):
        (self.root / "content" / name).write_text(text)

    def run_build(self, version="abc123"):
        return build.build(
            self.root / "content", self.root / "out", self.root / "templates",
            self.root / "static", "Site & Co", version,
        )

    def test_renders_every_page_with_layout_nav_and_version(self):
        self.page("index.md", "---\ntitle: Home\n---\nHello [about](about.html)")
        self.page("about.md", "---\ntitle: About\n---\n# About")
        self.run_build()
        index = (self.root / "out" / "index.html").read_text()
        self.assertIn("<title>Home · Site &amp; Co</title>", index)
        self.assertIn('<nav><a href="index.html">Home</a> | <a href="about.html">About</a></nav>', index)
        self.assertIn("<footer>abc123</footer>", index)
        self.assertEqual((self.root / "out" / "version.txt").read_text(), "abc123\n")
        self.assertTrue((self.root / "out" / "style.css").is_file())

    def test_nav_follows_order_with_index_first(self):
        pages = [("b.html", {"title": "B", "order": "1"}), ("index.html", {"title": "Home"}),
                 ("a.html", {"title": "A", "order": "2"})]
        self.assertEqual(
            build.navigation(pages),
            '<nav><a href="index.html">Home</a> | <a href="b.html">B</a> | <a href="a.html">A</a></nav>',
        )

    def test_a_page_without_title_names_the_file(self):
        self.page("index.md", "# no front matter")
        with self.assertRaisesRegex(ValueError, "index.md: the page has no 'title'"):
            self.run_build()

    def test_check_finds_broken_links(self):
        self.page("index.md", "---\ntitle: Home\n---\n[gone](missing.html) [ok](https://example.com) [top](#top)")
        self.run_build()
        self.assertEqual(check.broken_links(self.root / "out"), [("index.html", "missing.html")])

    def test_the_real_content_builds_without_broken_links(self):
        app = Path(__file__).resolve().parent.parent
        out = self.root / "site"
        build.build(app / "content", out, app / "templates", app / "static", "My Web App", "test")
        self.assertEqual(check.broken_links(out), [])


if __name__ == "__main__":
    unittest.main()
