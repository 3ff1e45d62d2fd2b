"""`qabot serve`: HTTP for Slack (POST /slack/events) and for the load balancer (GET /healthz)."""

import json
import logging

from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import serve as waitress_serve
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
    log.info("qabot listening on %s:%s", host, rt.settings.port)
    try:
        waitress_serve(wsgi_app(rt), host=host, port=rt.settings.port, threads=8, ident="qabot")
    finally:
        rt.close()


def background_server(rt: Runtime, host: str = "127.0.0.1"):
    """A real server on a free port, for the demo and the tests. Returns (server, base_url)."""
    server = create_server(wsgi_app(rt), host=host, port=0, threads=4, ident="qabot")
    import threading

    threading.Thread(target=server.run, name="qabot-http", daemon=True).start()
    return server, f"http://{host}:{server.effective_port}"
