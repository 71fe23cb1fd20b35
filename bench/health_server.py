#!/usr/bin/env python3
"""A stand-in API for benchmarks: /health answers as CivicQ's does, / is the
frontend. usage: health_server.py PORT"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, with_body):
        if self.path == "/health":
            body, ctype = b'{"status": "healthy", "database": "connected", "redis": "connected"}', "application/json"
        else:
            body, ctype = b"<h1>CivicQ</h1>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
