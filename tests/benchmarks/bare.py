"""The reference for the limit of the stack: one Flask JSON endpoint on waitress."""

import argparse

from flask import Flask, jsonify
from waitress import serve

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"status": "ok", "service": "bare flask"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    serve(app, host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True)
