import json
import threading
import unittest
import urllib.error
import urllib.request

from app import Invalid, NotFound, TaskStore, make_server


class TaskStoreTest(unittest.TestCase):
    def test_add_list_complete(self):
        store = TaskStore()
        first = store.add("one")
        store.add("two")
        self.assertEqual(first, {"id": 1, "text": "one", "status": "pending", "result": None})
        store.complete(1, {"words": 1})
        self.assertEqual([t["id"] for t in store.list("pending")], [2])
        self.assertEqual(store.get(1)["result"], {"words": 1})

    def test_rejects_bad_input(self):
        store = TaskStore()
        for text in ("", "   ", None, 3, "x" * 10_001):
            with self.assertRaises(Invalid):
                store.add(text)
        with self.assertRaises(Invalid):
            store.list("unknown")
        with self.assertRaises(NotFound):
            store.complete(9, {})

    def test_a_task_completes_once(self):
        store = TaskStore()
        store.add("one")
        store.complete(1, {})
        with self.assertRaisesRegex(Invalid, "already done"):
            store.complete(1, {})


class HttpTest(unittest.TestCase):
    def setUp(self):
        self.server = make_server(port=0, version="1.2.3")
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def test_health(self):
        self.assertEqual(self.call("GET", "/health"), (200, {"status": "ok", "version": "1.2.3"}))

    def test_task_lifecycle(self):
        status, task = self.call("POST", "/tasks", {"text": "hello world"})
        self.assertEqual((status, task["status"]), (201, "pending"))
        status, body = self.call("GET", "/tasks?status=pending")
        self.assertEqual([t["id"] for t in body["tasks"]], [task["id"]])
        status, done = self.call("POST", f"/tasks/{task['id']}/complete", {"result": {"words": 2}})
        self.assertEqual((status, done["status"], done["result"]), (200, "done", {"words": 2}))

    def test_errors_are_json(self):
        self.assertEqual(self.call("GET", "/tasks/42"), (404, {"error": "no task 42"}))
        self.assertEqual(self.call("GET", "/nope")[0], 404)
        self.assertEqual(self.call("POST", "/tasks", {"text": ""}),
                         (400, {"error": "text must be a non-empty string"}))


if __name__ == "__main__":
    unittest.main()
