"""The tasks API: a small JSON-over-HTTP service (python3 standard library only).

    GET  /health                 {"status": "ok", "version": ...}
    GET  /tasks[?status=S]       the tasks, oldest first, optionally only those with status S
    POST /tasks                  {"text": "..."} -> 201 and the new task (status "pending")
    GET  /tasks/<id>             one task
    POST /tasks/<id>/complete    {"result": {...}} -> the task, now "done"

Run it: python3 app.py [--port 8080]
"""

import argparse
import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_TEXT = 10_000
STATUSES = ("pending", "done")


class NotFound(Exception):
    pass


class Invalid(Exception):
    pass


class TaskStore:
    """Tasks in memory; safe to use from the server's threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tasks = {}
        self._next_id = 1

    def add(self, text):
        if not isinstance(text, str) or not text.strip():
            raise Invalid("text must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise Invalid(f"text is longer than {MAX_TEXT} characters")
        with self._lock:
            task = {"id": self._next_id, "text": text, "status": "pending", "result": None}
            self._tasks[task["id"]] = task
            self._next_id += 1
            return dict(task)

    def get(self, task_id):
        with self._lock:
            if task_id not in self._tasks:
                raise NotFound(f"no task {task_id}")
            return dict(self._tasks[task_id])

    def list(self, status=None):
        if status is not None and status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        with self._lock:
            return [dict(t) for t in self._tasks.values() if status in (None, t["status"])]

    def complete(self, task_id, result):
        if not isinstance(result, dict):
            raise Invalid("result must be an object")
        with self._lock:
            if task_id not in self._tasks:
                raise NotFound(f"no task {task_id}")
            task = self._tasks[task_id]
            if task["status"] == "done":
                raise Invalid(f"task {task_id} is already done")
            task.update(status="done", result=result)
            return dict(task)


def make_handler(store, version):
    class Handler(BaseHTTPRequestHandler):
        server_version = "tasks-api/" + version

        def log_message(self, format, *args):  # quiet unless asked
            if os.environ.get("API_ACCESS_LOG"):
                super().log_message(format, *args)

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(data)

        def read_json(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except json.JSONDecodeError as error:
                raise Invalid(f"the body is not JSON: {error}") from None
            if not isinstance(body, dict):
                raise Invalid("the body must be a JSON object")
            return body

        def route(self, method):
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            if method == "GET" and parts == ["health"]:
                return HTTPStatus.OK, {"status": "ok", "version": version}
            if parts[:1] != ["tasks"]:
                raise NotFound(f"no route {method} {url.path}")
            if len(parts) == 1 and method == "GET":
                status = parse_qs(url.query).get("status", [None])[0]
                return HTTPStatus.OK, {"tasks": store.list(status)}
            if len(parts) == 1 and method == "POST":
                return HTTPStatus.CREATED, store.add(self.read_json().get("text"))
            try:
                task_id = int(parts[1])
            except ValueError:
                raise NotFound(f"no task {parts[1]}") from None
            if len(parts) == 2 and method == "GET":
                return HTTPStatus.OK, store.get(task_id)
            if parts[2:] == ["complete"] and method == "POST":
                return HTTPStatus.OK, store.complete(task_id, self.read_json().get("result"))
            raise NotFound(f"no route {method} {url.path}")

        def handle_method(self, method):
            try:
                status, body = self.route(method)
            except NotFound as error:
                status, body = HTTPStatus.NOT_FOUND, {"error": str(error)}
            except Invalid as error:
                status, body = HTTPStatus.BAD_REQUEST, {"error": str(error)}
            self.send_json(status, body)

        def do_GET(self):
            self.handle_method("GET")

        def do_POST(self):
            self.handle_method("POST")

    return Handler


def make_server(host="127.0.0.1", port=8080, store=None, version=None):
    version = version or os.environ.get("SERVICE_VERSION", "dev")
    return ThreadingHTTPServer((host, port), make_handler(store or TaskStore(), version))


def main():
    parser = argparse.ArgumentParser(description="The tasks API")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args()
    server = make_server(args.host, args.port)
    print(f"tasks-api listening on http://{args.host}:{server.server_address[1]}")
    server.serve_forever()


if __name__ == "__main__":
    main()
