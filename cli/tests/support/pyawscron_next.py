"""The next firings of AWS cron expressions by pyawscron (PyPI), for cli/tests/schedule_pyawscron.rs.

Reads one JSON object a line on stdin, {"expression": "0 2 * * ? *", "after": "2026-12-07T01:00:00Z",
"count": 5} (the expression without its cron( ) wrapper, as pyawscron takes it), and writes one a line on
stdout, {"times": ["2026-12-07T02:00:00Z", ...], "error": null}: each time AWSCron(expression)
.occurrence(previous).next(), from "after", until "count" times or None. "error" is pyawscron's exception
as "Type: message", with the times found before it.
"""

import datetime
import json
import sys

from pyawscron import AWSCron


def firings(expression, after, count):
    times = []
    try:
        cron = AWSCron(expression)
        at = after
        for _ in range(count):
            at = cron.occurrence(at).next()
            if at is None:
                break
            times.append(at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    except Exception as error:  # every failure is reported, and the test decides whether it is known
        return times, f"{type(error).__name__}: {error}"
    return times, None


def main():
    for line in sys.stdin:
        request = json.loads(line)
        after = datetime.datetime.strptime(request["after"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
        times, error = firings(request["expression"], after, request["count"])
        print(json.dumps({"times": times, "error": error}), flush=True)


if __name__ == "__main__":
    main()
