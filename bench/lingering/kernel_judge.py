"""Kernel-level judge for bench:rst: runs many attempts of one scenario inside this one process and
classifies what recv()/send() returned, with no event loop in between (libuv reports many resets
as a clean EOF; the kernel does not).

stdin: one JSON job per line:
  {"id": 1, "port": 1234, "runs": 200, "kind": "raw", "send": 4, "expect": 600000}
  {"id": 2, "port": 1234, "runs": 200, "kind": "http", "head": "POST ... \\r\\n\\r\\n", "body": 4194304}
stdout: one JSON line per job: {"id": 1, "cells": {"clean": n, "ECONNRESET": n, "EPIPE": n,
  "truncated": n, "no response": n}, "example": {...one non-clean attempt, if any...}}

An attempt is "clean" when the whole response arrived and nothing failed; "truncated" / "no
response" when part / none of it arrived (whatever the error); otherwise it is named after the
error seen (ECONNRESET before EPIPE).
"""
import json
import socket
import sys

CELLS = ("clean", "ECONNRESET", "EPIPE", "truncated", "no response")


def errname(err):
    import errno

    return errno.errorcode.get(getattr(err, "errno", 0) or 0, type(err).__name__)


def http_complete(data):
    """Whether `data` holds a whole HTTP response (headers, then Content-Length bytes of body)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            return data.endswith(b"0\r\n\r\n")
    return len(data) - (end + 4) >= length


def attempt(job):
    errors = []
    received = bytearray()
    try:
        sock = socket.create_connection(("127.0.0.1", job["port"]), timeout=20)
    except OSError as err:
        return "no response", {"received": 0, "errors": ["connect " + errname(err)]}
    try:
        if job["kind"] == "raw":
            sock.sendall(b"x" * job["send"])
        else:
            sock.sendall(job["head"].encode("latin-1"))
            chunk = b"b" * 65536
            left = job["body"]
            while left > 0:
                sock.sendall(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    except OSError as err:
        errors.append(errname(err))
    while True:
        try:
            data = sock.recv(262144)
        except OSError as err:
            errors.append(errname(err))
            break
        if not data:
            break
        received += data
    sock.close()

    if job["kind"] == "raw":
        complete = len(received) == job["expect"]
    else:
        complete = http_complete(bytes(received))
    if not complete:
        cell = "no response" if not received else "truncated"
    elif "ECONNRESET" in errors:
        cell = "ECONNRESET"
    elif "EPIPE" in errors:
        cell = "EPIPE"
    elif errors:
        cell = "ECONNRESET"  # any other failure: counted with the resets, named in the example
    else:
        cell = "clean"
    return cell, {"received": len(received), "errors": errors}


def main():
    for line in iter(sys.stdin.readline, ""):
        if not line.strip():
            continue
        job = json.loads(line)
        cells = {name: 0 for name in CELLS}
        example = None
        for _ in range(job["runs"]):
            cell, detail = attempt(job)
            cells[cell] += 1
            if cell != "clean" and example is None:
                example = dict(detail, cell=cell)
        print(json.dumps({"id": job["id"], "cells": cells, "example": example}), flush=True)


if __name__ == "__main__":
    main()
