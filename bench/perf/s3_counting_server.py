"""moto's S3 server on 127.0.0.1 that counts every request it answers, by kind and by who sent it.

    .venv/bin/python -m bench.perf.s3_counting_server PORT_FILE   # writes the port it listens on to PORT_FILE

perf.scale starts it with --s3.

`GET /_requests` returns the counts so far as JSON ({"driver": {"GET": n, ...}, "workers": {...}}) without
touching S3; a request whose User-Agent carries `app/driver` (botocore adds it when AWS_SDK_UA_APP_ID=driver)
is the driver's. Kinds: LIST (a GET with list-type or prefix), GET, HEAD, PUT, COPY (a PUT with a copy
source), DELETE, POST (multipart upload start/finish, batch delete).
"""

from __future__ import annotations

import collections
import json
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

COUNTS: dict[str, collections.Counter] = {"driver": collections.Counter(), "workers": collections.Counter()}
LOCK = threading.Lock()


def kind_of(environ) -> str:
    method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")
    if method == "GET" and ("list-type" in query or "prefix=" in query or environ["PATH_INFO"].count("/") <= 1):
        return "LIST"
    if method == "PUT" and "HTTP_X_AMZ_COPY_SOURCE" in environ:
        return "COPY"
    return method


def counting(app):
    def serve(environ, start_response):
        if environ["PATH_INFO"] == "/_requests":
            with LOCK:
                body = json.dumps({who: dict(c) for who, c in COUNTS.items()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        who = "driver" if "app/driver" in environ.get("HTTP_USER_AGENT", "") else "workers"
        with LOCK:
            COUNTS[who][kind_of(environ)] += 1
        return app(environ, start_response)

    return serve


def main() -> None:
    app = counting(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    with open(sys.argv[1], "w") as f:
        f.write(str(server.server_port))
    server.serve_forever()


if __name__ == "__main__":
    main()
