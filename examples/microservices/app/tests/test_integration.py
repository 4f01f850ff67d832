"""The services together: the API on a loopback port and the worker completing its tasks, in this
process and as its own program."""

import json
import subprocess
import sys
import threading
import unittest
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "api"), str(ROOT / "worker")]

import app  # noqa: E402  (api/app.py)
import worker  # noqa: E402  (worker/worker.py)


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


class ApiAndWorkerTest(unittest.TestCase):
    def setUp(self):
        self.server = app.make_server(port=0, version="it")
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_the_worker_completes_what_the_api_queued(self):
        call(self.base, "POST", "/tasks", {"text": "Ship it. Ship it now!"})
        call(self.base, "POST", "/tasks", {"text": "one more"})
        self.assertEqual(worker.run_once(worker.Api(self.base)), 2)
        tasks = call(self.base, "GET", "/tasks")["tasks"]
        self.assertEqual([t["status"] for t in tasks], ["done", "done"])
        self.assertEqual(tasks[0]["result"]["top_words"], ["ship", "now"])
        self.assertEqual(call(self.base, "GET", "/tasks?status=pending")["tasks"], [])

    def test_the_worker_program_runs_once_against_the_api(self):
        call(self.base, "POST", "/tasks", {"text": "from a separate process"})
        run = subprocess.run(
            [sys.executable, str(ROOT / "worker" / "worker.py"), "--api", self.base, "--once"],
            capture_output=True, text=True, timeout=20,
        )
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("completed 1 task(s)", run.stdout)
        self.assertEqual(call(self.base, "GET", "/tasks/1")["result"]["words"], 4)


if __name__ == "__main__":
    unittest.main()
