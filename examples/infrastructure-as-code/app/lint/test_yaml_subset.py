import unittest

from yaml_subset import YamlError, loads


class ReadsTest(unittest.TestCase):
    def test_mappings_sequences_and_scalars(self):
        text = """
# a comment
Name: web  # trailing comment
Quoted: "a # b"
Single: 'it''s'
Url: http://example.com/#top
List:
  - one
  - key: value
    other: [a, 'b, c', [d]]
Compact:
- x
"""
        self.assertEqual(loads(text), {
            "Name": "web", "Quoted": "a # b", "Single": "it's", "Url": "http://example.com/#top",
            "List": ["one", {"key": "value", "other": ["a", "b, c", ["d"]]}], "Compact": ["x"],
        })

    def test_short_form_tags_become_long_form(self):
        text = """
A: !Ref Bucket
B: !GetAtt Bucket.Arn
C: !Sub "${Bucket.Arn}/*"
D: !If [IsProd, !Ref X, !Ref AWS::NoValue]
E: !Join
  - ''
  - - a
    - !Ref B
"""
        self.assertEqual(loads(text), {
            "A": {"Ref": "Bucket"},
            "B": {"Fn::GetAtt": ["Bucket", "Arn"]},
            "C": {"Fn::Sub": "${Bucket.Arn}/*"},
            "D": {"Fn::If": ["IsProd", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]},
            "E": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
        })

    def test_block_scalars(self):
        text = "Literal: |\n  line 1\n    indented\n\nFolded: >-\n  one\n  two\n\n  three\nKeep: |+\n  x\n\n"
        self.assertEqual(loads(text), {
            "Literal": "line 1\n  indented\n", "Folded": "one two\nthree", "Keep": "x\n",
        })

    def test_a_tag_before_a_block(self):
        self.assertEqual(
            loads("UserData: !Base64\n  Fn::Sub: |\n    echo ${X}\n"),
            {"UserData": {"Fn::Base64": {"Fn::Sub": "echo ${X}\n"}}},
        )

    def test_empty_value_and_document_marker(self):
        self.assertEqual(loads("---\nA:\nB: 1\n"), {"A": "", "B": "1"})


class RefusesTest(unittest.TestCase):
    def assertRefuses(self, text, line, message):
        with self.assertRaises(YamlError) as caught:
            loads(text)
        self.assertEqual(caught.exception.line, line)
        self.assertIn(message, str(caught.exception))

    def test_duplicate_keys(self):
        self.assertRefuses("A: 1\nB: 2\nA: 3\n", 3, "duplicate key A")

    def test_bad_indentation(self):
        self.assertRefuses("A:\n  B: 1\n   C: 2\n", 3, "unexpected indentation")

    def test_tabs(self):
        self.assertRefuses("A:\n\tB: 1\n", 2, "tabs")

    def test_unknown_tag(self):
        self.assertRefuses("A: !Reff X\n", 1, "unknown tag !Reff")

    def test_flow_mappings_anchors_and_multi_line_quotes(self):
        self.assertRefuses("A: {B: 1}\n", 1, "flow mappings")
        self.assertRefuses("A: &x 1\n", 1, "anchors")
        self.assertRefuses('A: "open\n  more"\n', 1, "must close on its line")
        self.assertRefuses("A: [a, b\n", 1, "must close on its line")

    def test_colon_in_plain_scalar(self):
        self.assertRefuses("A: b: c\n", 1, "cannot contain ': '")

    def test_several_documents(self):
        self.assertRefuses("A: 1\n---\nB: 2\n", 2, "several documents")


if __name__ == "__main__":
    unittest.main()
