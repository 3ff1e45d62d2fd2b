"""`qabot serve`: HTTP for Slack (POST /slack/events) and for the load balancer (GET /healthz)."""

import json
import logging
import signal
import sys
import threading

from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.app import build_app
from bot.runtime import Runtime

log = logging.getLogger("qabot.server")


def wsgi_app(rt: Runtime):
    slack = SlackRequestHandler(build_app(rt), path="/slack/events")

    def application(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            reachable = rt.database.reachable()
            body = json.dumps({"status": "ok" if reachable else "unavailable", "database": reachable}).encode()
            start_response(
                "200 OK" if reachable else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if path == "/slack/events":
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return application


def serve(rt: Runtime, host: str = "0.0.0.0") -> None:
    rt.start_courier()
    server = create_server(wsgi_app(rt), host=host, port=rt.settings.port, threads=8, ident="qabot")
    # A deployment stops the process with SIGTERM: it stops listening, and rt.close() finishes the work of every
    # request already acknowledged to Slack, which nobody would otherwise redo.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("qabot listening on %s:%s", host, rt.settings.port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        log.info("qabot stopping: answering the requests in hand, then finishing the work already acknowledged")
        # Requests in hand are answered first (they may hand work to rt.listeners), then that work is finished.
        server.task_dispatcher.shutdown()
        server.close()
        rt.close()
        log.info("qabot stopped")


class BackgroundServer:
    """A real server on a free port in a thread, for the demo, the tests and the benchmarks."""

    def __init__(self, application, host: str = "127.0.0.1", ident: str = "qabot"):
        self._server = create_server(application, host=host, port=0, threads=4, ident=ident)
        self._closing = False
        self.base_url = f"http://{host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._run, name=f"{ident}-http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            # Closing the listening socket from another thread ends the loop with EBADF; only that is expected.
            if not self._closing:
                raise

    def close(self) -> None:
        self._closing = True
        # Workers first: one still finishing a reply wakes the loop through a pipe that close() shuts (EBADF).
        self._server.task_dispatcher.shutdown()
        self._server.close()
        self._thread.join(timeout=5)


def background_server(rt: Runtime, host: str = "127.0.0.1") -> tuple[BackgroundServer, str]:
    server = BackgroundServer(wsgi_app(rt), host)
    return server, server.base_url
