import unittest

from worker import analyse, run_once


class AnalyseTest(unittest.TestCase):
    def test_counts(self):
        result = analyse("The cat sat. The cat ran! Did the dog?")
        self.assertEqual(result["words"], 9)
        self.assertEqual(result["sentences"], 3)
        self.assertEqual(result["characters"], 38)

    def test_top_words_skip_stop_words_and_break_ties_alphabetically(self):
        self.assertEqual(analyse("the zebra and the apple and the zebra")["top_words"], ["zebra", "apple"])

    def test_empty_text(self):
        self.assertEqual(analyse(""), {"characters": 0, "words": 0, "sentences": 0, "top_words": []})


class FakeApi:
    def __init__(self, tasks):
        self.tasks = tasks
        self.completed = {}

    def pending(self):
        return [t for t in self.tasks if t["id"] not in self.completed]

    def complete(self, task_id, result):
        self.completed[task_id] = result


class RunOnceTest(unittest.TestCase):
    def test_completes_every_pending_task(self):
        api = FakeApi([{"id": 1, "text": "one two"}, {"id": 2, "text": "three"}])
        self.assertEqual(run_once(api), 2)
        self.assertEqual(api.completed[1]["words"], 2)
        self.assertEqual(run_once(api), 0)


if __name__ == "__main__":
    unittest.main()
