#!/usr/bin/env python3
"""Service B: a tiny Python service behind nginx forward auth.

It knows nothing about cookies, sessions or passwords. nginx asks cloakroom
(`auth_request` -> GET /auth/verify) before every request and passes the answer on as
X-Auth-User, X-Auth-User-Id and X-Auth-Roles -- always overwriting whatever the client sent.
So this service must only be reachable through nginx: it listens on 127.0.0.1.

Standard library only:  python3 service-b/app.py --port 8001
"""

import argparse
import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

MESSAGES = []  # (username, text): in memory, for the demo
LOCK = threading.Lock()


def identity(headers):
    """The signed-in user as nginx passed it, or None (never reached through the gateway)."""
    user = headers.get("X-Auth-User")
    if not user:
        return None
    roles = [r for r in (headers.get("X-Auth-Roles") or "").split(",") if r]
    # Non-ASCII usernames arrive percent-encoded; unquote leaves plain ASCII names as they are.
    return {"username": unquote(user), "id": headers.get("X-Auth-User-Id"), "roles": roles}


class Handler(BaseHTTPRequestHandler):
    server_version = "service-b/1"

    def do_GET(self):
        me = identity(self.headers)
        if me is None:
            return self.reply(401, "text/plain; charset=utf-8", "Call me through the gateway.\n")
        if self.path.split("?")[0] == "/b/whoami":
            return self.reply(200, "application/json", json.dumps(me))
        with LOCK:
            items = "".join(
                f"<li><strong>{html.escape(u)}</strong>: {html.escape(t)}</li>" for u, t in MESSAGES
            )
        roles = ", ".join(me["roles"]) or "none"
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service B</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}</style></head>
<body><h1>Service B (Python)</h1>
<p>Hello, <strong>{html.escape(me["username"])}</strong>! Your roles: {html.escape(roles)}.</p>
<p>This page was served by Python's http.server; your sign-in happened in cloakroom.</p>
<form method="post" action="/b/messages">
  <label>Message <input name="text" maxlength="200" required></label> <button>Post</button>
</form>
<ul>{items or "<li><em>No messages yet.</em></li>"}</ul>
<p><a href="/account">Your account and sessions</a> (sign out there)</p>
</body></html>"""
        self.reply(200, "text/html; charset=utf-8", page)

    def do_POST(self):
        me = identity(self.headers)
        if me is None:
            return self.reply(401, "text/plain; charset=utf-8", "Call me through the gateway.\n")
        if self.path != "/b/messages":
            return self.reply(404, "text/plain; charset=utf-8", "Not found.\n")
        length = min(int(self.headers.get("Content-Length") or 0), 4096)
        fields = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        text = (fields.get("text") or [""])[0].strip()[:200]
        if text:
            with LOCK:
                MESSAGES.append((me["username"], text))
                del MESSAGES[:-50]
        # Post/redirect/get. Cross-site posts never get here: the gateway's CSRF gate refuses them.
        self.send_response(303)
        self.send_header("Location", "/b/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def reply(self, status, content_type, body):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"service B listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
