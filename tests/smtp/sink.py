"""A real SMTP server for Veedor's tests and benchmarks (aiosmtpd), with faults on demand.

Usage: python3 sink.py --out DIR [--port N] [--fail-first N --code 451] [--reject 550] [--stall]

Prints "PORT <n>" once it listens. Every accepted message is written to DIR as
<time>-<sequence>.eml, with a .json beside it holding the envelope (mail from, recipients).
--fail-first N answers the first N messages with --code (a 4xx: try again later);
--reject answers every message with that code (a 5xx: permanent); --stall accepts the
connection and the envelope, then never answers the message's data.
--discard counts messages without writing them (for benchmarks): DIR/count holds the total.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, args):
        self.args = args
        self.seen = 0
        self.accepted = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seen += 1
            seen = self.seen
        if self.args.stall:
            await asyncio.sleep(3600)
        if self.args.reject:
            return f"{self.args.reject} 5.7.1 Rejected by the test sink"
        if seen <= self.args.fail_first:
            return f"{self.args.code} 4.3.0 Try again later (test sink)"
        with self.lock:
            self.accepted += 1
            n = self.accepted
        if self.args.discard:
            if n % 100 == 0:
                with open(os.path.join(self.args.out, "count"), "w") as f:
                    f.write(str(n))
            return "250 2.0.0 OK"
        # Time first, so that names sort in arrival order across restarts of the sink.
        base = os.path.join(self.args.out, f"{time.time_ns()}-{n:06d}")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.replace(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--code", type=int, default=451)
    p.add_argument("--reject", type=int, default=0)
    p.add_argument("--stall", action="store_true")
    p.add_argument("--discard", action="store_true")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    port = args.port or free_port()
    sink = Sink(args)
    controller = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=10 * 1024 * 1024)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        if args.discard:
            with open(os.path.join(args.out, "count"), "w") as f:
                f.write(str(sink.accepted))
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
