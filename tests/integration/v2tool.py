#!/usr/bin/python3
"""Helpers for the integration tests of `mmsp serve` (Debian /usr/bin/python3, stdlib + numpy +
xgboost only). One program, several subcommands, so the shell scripts stay short:

  rows SEED N NFEAT                      JSON rows of float32-exact values (deterministic)
  xgb-predict MODEL ROWS                 python-xgboost's predictions for the rows, JSON
  compare-v2 RESPONSE MODEL ROWS         a v2 infer response (JSON file) agrees with xgboost (1e-5)
  compare-list JSON_LIST MODEL ROWS      a JSON list of predictions agrees with xgboost (1e-5)
  compare-many MANIFEST                  lines "v2|list RESPONSE MODEL ROWS WHAT...": one
                                         "ok WHAT" or "FAIL WHAT: why" line each
  v2-body ROWS [DATATYPE]                a v2 infer JSON body for the rows (datatype FP32 default)
  binary-body OUT ROWS [HEADER_EXTRA]    JSON header + little-endian FP32 rows into OUT; prints the
                                         header length (for Inference-Header-Content-Length)
  raw-body OUT HEADER_JSON NBYTES        HEADER_JSON followed by NBYTES bytes of little-endian
                                         float 0.5s (padded with zero bytes); prints header length
  decode-binary BODY HEADER_LEN          splits a binary response: prints {"header":..,"floats":[..]}
  promsum FILE METRIC [label=value ...]  sum of the samples of METRIC whose labels match
  promcount FILE METRIC [label=value ..] number of such samples
  slow HOST PORT MODE [SECONDS]          socket scenarios for test_slow_clients.sh (see slow())
  abandon HOST PORT N                    opens N connections, sends partial things, drops them
  send HOST PORT TEXT [SECONDS]          sends TEXT (\\r\\n escapes), prints the reply's status line
Exit status 0 = ok; 1 = check failed (message on stdout); 2 = usage.
"""
import json
import math
import os
import re
import socket
import struct
import sys
import time


def load_json(path):
    with open(path) as f:
        return json.load(f)


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def cmd_rows(seed, n, nfeat):
    import random
    rng = random.Random(int(seed))
    # A float32 value printed as the shortest double repr round-trips to the same float32.
    print(json.dumps([[f32(rng.gauss(0, 1)) for _ in range(int(nfeat))] for _ in range(int(n))]))


BOOSTERS = {}


def xgb_predict(model, rows):
    import numpy as np
    import xgboost as xgb
    bst = BOOSTERS.get(model)
    if bst is None:
        bst = BOOSTERS[model] = xgb.Booster(model_file=model)
    x = np.asarray(rows, dtype=np.float32)
    return bst.predict(xgb.DMatrix(x)).tolist()


def flatten(v):
    if isinstance(v, list):
        out = []
        for e in v:
            out.extend(flatten(e))
        return out
    return [v]


def compare(got, want, what):
    got_f, want_f = flatten(got), flatten(want)
    if len(got_f) != len(want_f):
        print(f"{what}: {len(got_f)} values, xgboost gives {len(want_f)}")
        return 1
    for i, (g, w) in enumerate(zip(got_f, want_f)):
        if not isinstance(g, (int, float)) or isinstance(g, bool) or math.isnan(g) \
                or abs(g - w) > 1e-5:
            print(f"{what}: value {i}: got {g!r}, xgboost gives {w!r}")
            return 1
    return 0


def cmd_compare_v2(resp_path, model, rows_path):
    rows = load_json(rows_path)
    want = xgb_predict(model, rows)
    try:
        resp = load_json(resp_path)
        out = [o for o in resp["outputs"] if o["name"] == "predict"]
        if len(out) != 1:
            print(f"response has no single 'predict' output: {json.dumps(resp)[:300]}")
            return 1
        out = out[0]
    except (ValueError, KeyError, TypeError) as e:
        print(f"bad response ({e}): {open(resp_path).read()[:300]}")
        return 1
    n = len(rows)
    want_shape = [n] if not isinstance(want[0], list) else [n, len(want[0])]
    if out.get("shape") != want_shape:
        print(f"output shape {out.get('shape')}, want {want_shape}")
        return 1
    if out.get("datatype") != "FP32":
        print(f"output datatype {out.get('datatype')}, want FP32")
        return 1
    return compare(out.get("data"), want, "predict")


def cmd_compare_list(list_path, model, rows_path):
    rows = load_json(rows_path)
    return compare(load_json(list_path), xgb_predict(model, rows), "predictions")


def cmd_compare_many(manifest):
    """Each line: v2|list RESPONSE MODEL ROWS WHAT... ; prints "ok WHAT" or "FAIL WHAT: why"."""
    import contextlib
    import io
    for line in open(manifest):
        parts = line.split()
        if len(parts) < 5:
            continue
        mode, resp, model, rows, what = parts[0], parts[1], parts[2], parts[3], " ".join(parts[4:])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                rc = (cmd_compare_v2 if mode == "v2" else cmd_compare_list)(resp, model, rows)
            except Exception as e:  # a bad response must be a failed check, not a crash
                print(f"{type(e).__name__}: {e}")
                rc = 1
        msg = out.getvalue().strip().replace("\n", "; ")
        print(f"ok {what}" if rc == 0 else f"FAIL {what}: {msg}")
    return 0


def cmd_v2_body(rows_path, datatype="FP32"):
    rows = load_json(rows_path)
    if datatype in ("INT32", "INT64"):
        rows = [[int(v) for v in r] for r in rows]
    body = {"inputs": [{"name": "input", "shape": [len(rows), len(rows[0])],
                        "datatype": datatype, "data": rows}]}
    print(json.dumps(body))


def cmd_binary_body(out, rows_path, extra="{}"):
    rows = load_json(rows_path)
    flat = [v for r in rows for v in r]
    raw = struct.pack("<%df" % len(flat), *flat)
    header = {"inputs": [{"name": "input", "shape": [len(rows), len(rows[0])], "datatype": "FP32",
                          "parameters": {"binary_data_size": len(raw)}}]}
    header.update(json.loads(extra))
    hj = json.dumps(header).encode()
    with open(out, "wb") as f:
        f.write(hj + raw)
    print(len(hj))


def cmd_raw_body(out, header_json, nbytes):
    nbytes = int(nbytes)
    raw = struct.pack("<f", 0.5) * (nbytes // 4) + b"\0" * (nbytes % 4)
    hj = header_json.encode()
    with open(out, "wb") as f:
        f.write(hj + raw)
    print(len(hj))


def cmd_decode_binary(body_path, header_len):
    data = open(body_path, "rb").read()
    n = int(header_len)
    if n > len(data):
        print(json.dumps({"error": f"header length {n} > body {len(data)}"}))
        return 1
    header = json.loads(data[:n])
    rest = data[n:]
    if len(rest) % 4:
        print(json.dumps({"error": f"{len(rest)} trailing bytes, not a multiple of 4"}))
        return 1
    floats = list(struct.unpack("<%df" % (len(rest) // 4), rest))
    print(json.dumps({"header": header, "floats": floats, "nbytes": len(rest)}))
    return 0


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def prom_samples(path, metric, matchers):
    want = dict(m.split("=", 1) for m in matchers)
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m or m.group(1) != metric:
            continue
        labels = dict(LABEL.findall(m.group(3) or ""))
        if all(labels.get(k) == v for k, v in want.items()):
            yield float(m.group(4))


def cmd_promsum(path, metric, *matchers):
    print(repr(sum(prom_samples(path, metric, matchers))))


def cmd_promcount(path, metric, *matchers):
    print(len(list(prom_samples(path, metric, matchers))))


def recv_until_closed(s, deadline):
    """Reads until the peer closes or the deadline passes. Returns (closed, bytes)."""
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, got
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False, got
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not chunk:
            return True, got
        got += chunk


def slow(host, port, mode, seconds="8"):
    """Scenarios; prints one JSON line {"closed": bool, "after": seconds, "reply": first line}.
    half-body: headers + half the declared body, then silence, wait for the server to close.
    half-header: part of the request line/headers, then silence.
    idle: connect and send nothing.
    shutdown-partial: headers + part of the body, then shutdown(SHUT_WR).
    shutdown-full: a whole good request, then shutdown(SHUT_WR).
    garbage: a line that is not HTTP.
    huge-header: a 200 KB header line."""
    wait = float(seconds)
    s = socket.create_connection((host, int(port)), timeout=5)
    body = b'{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":[' + \
        b",".join([b"0.5"] * 30) + b"]}]}"
    head = (b"POST /v2/models/binary/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    try:
        if mode == "half-body":
            s.sendall(head + body[: len(body) // 2])
        elif mode == "half-header":
            s.sendall(b"POST /v2/models/binary/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nConte")
        elif mode == "idle":
            pass
        elif mode == "shutdown-partial":
            s.sendall(head + body[: len(body) // 2])
            s.shutdown(socket.SHUT_WR)
        elif mode == "shutdown-full":
            s.sendall(head + body)
            s.shutdown(socket.SHUT_WR)
        elif mode == "garbage":
            s.sendall(b"\x16\x03\x01\x02\x00GARBAGE NOT HTTP\r\n\r\n")
        elif mode == "huge-header":
            s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 +
                      b"\r\n\r\n")
        else:
            print(f"unknown mode {mode}")
            return 2
    except (BrokenPipeError, ConnectionResetError):
        print(json.dumps({"closed": True, "after": 0.0, "reply": ""}))
        return 0
    t0 = time.monotonic()
    closed, got = recv_until_closed(s, t0 + wait)
    after = time.monotonic() - t0
    s.close()
    first = got.split(b"\r\n", 1)[0].decode("latin-1")
    print(json.dumps({"closed": closed, "after": round(after, 3), "reply": first,
                      "reply_body": got[-300:].decode("latin-1")}))
    return 0


def send(host, port, text, seconds="5"):
    """Sends TEXT (with \\r and \\n escapes) and reads until the server closes or SECONDS pass;
    prints {"closed": bool, "status": first line of the reply}."""
    data = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    s = socket.create_connection((host, int(port)), timeout=5)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, got = recv_until_closed(s, time.monotonic() + float(seconds))
    s.close()
    print(json.dumps({"closed": closed, "status": got.split(b"\r\n", 1)[0].decode("latin-1"),
                      "body": got.split(b"\r\n\r\n", 1)[-1][:300].decode("latin-1")}))
    return 0


def abandon(host, port, n):
    """Opens N connections, half of them send a partial request, all are dropped: every third
    with an RST (SO_LINGER 0), the others with a normal close."""
    socks = []
    for i in range(int(n)):
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
        except OSError as e:
            print(f"connect {i} failed: {e}")
            break
        if i % 2:
            try:
                s.sendall(b"POST /v2/models/binary/infer HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 5000\r\n\r\n{\"inputs\":[")
            except OSError:
                pass
        socks.append(s)
    for i, s in enumerate(socks):
        if i % 3 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(len(socks))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmds = {
        "rows": cmd_rows, "xgb-predict": lambda m, r: print(json.dumps(xgb_predict(m, load_json(r)))),
        "compare-v2": cmd_compare_v2, "compare-list": cmd_compare_list,
        "compare-many": cmd_compare_many, "v2-body": cmd_v2_body,
        "binary-body": cmd_binary_body, "raw-body": cmd_raw_body,
        "decode-binary": cmd_decode_binary, "promsum": cmd_promsum, "promcount": cmd_promcount,
        "slow": slow, "abandon": abandon, "send": send,
    }
    fn = cmds.get(argv[1])
    if fn is None:
        print(__doc__)
        return 2
    return fn(*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
