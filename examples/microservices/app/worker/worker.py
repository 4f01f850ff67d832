"""The worker: takes the API's pending tasks, analyses each text, and posts the result back.

    python3 worker.py --api http://127.0.0.1:8080 [--once] [--interval 5]
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.request
from collections import Counter

STOP_WORDS = frozenset("a an and are as at be by for from in is it of on or that the this to was with".split())


def analyse(text):
    """What the worker computes for a task's text."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    counted = Counter(w for w in words if w not in STOP_WORDS)
    top = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:3]
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    return {
        "characters": len(text),
        "words": len(words),
        "sentences": len(sentences),
        "top_words": [word for word, _ in top],
    }


class Api:
    def __init__(self, base_url, timeout=5):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.load(response)

    def pending(self):
        return self._call("GET", "/tasks?status=pending")["tasks"]

    def complete(self, task_id, result):
        return self._call("POST", f"/tasks/{task_id}/complete", {"result": result})


def run_once(api):
    """Completes every pending task; returns how many."""
    done = 0
    for task in api.pending():
        api.complete(task["id"], analyse(task["text"]))
        done += 1
    return done


def main():
    parser = argparse.ArgumentParser(description="The tasks worker")
    parser.add_argument("--api", default=os.environ.get("API_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--once", action="store_true", help="complete the pending tasks, then exit")
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    api = Api(args.api)
    while True:
        count = run_once(api)
        if count:
            print(f"worker: completed {count} task(s)", flush=True)
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
