"""The load generator of ``bench/webhook_load.py``, in its own process so it never takes the
server's or the measuring process's interpreter lock.

It reads pre-built, pre-signed requests (a pickled list of ``(path, headers, body)``) and sends
request *i* at *start + i / rate* over a few kept-alive HTTP/1.1 connections written with raw
asyncio streams (no HTTP client library: httpx alone could not send more than ~80 requests/s on the
loaded 2-core box). Latency counts from when a request was *due*, so a slow server or a slow sender
cannot hide queueing. Writes a pickled list of ``(due, answered, status)`` per request, with
``time.monotonic`` seconds (the same clock in every process on Linux), and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import time
from pathlib import Path
from urllib.parse import urlsplit

Request = tuple[str, dict[str, str], bytes]


def encode(request: Request, host: str) -> bytes:
    path, headers, body = request
    lines = [f"POST {path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def run(
    url: str, requests: list[Request], rate: float, connections: int, timeout: float
) -> list[tuple[float, float, int]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    wire = [encode(request, f"{host}:{port}") for request in requests]
    results: list[tuple[float, float, int]] = [(0.0, 0.0, 0)] * len(wire)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def connection() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while True:
            item = await queue.get()
            if item is None:
                break
            index, due = item
            status = 0
            for _attempt in range(2):  # a kept-alive connection the server closed: reconnect once
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    assert reader is not None
                    writer.write(wire[index])
                    status = await asyncio.wait_for(read_answer(reader), timeout)
                    break
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    status = 0
            results[index] = (due, time.monotonic(), status)
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    started = time.monotonic() + 0.05
    for index in range(len(wire)):
        due = started + index / rate
        pause = due - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        queue.put_nowait((index, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait(workers, timeout=timeout + 30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    requests: list[Request] = pickle.loads(args.input.read_bytes())  # noqa: S301  (our own file)
    coroutine = run(args.url, requests, args.rate, args.connections, args.timeout)
    try:
        import uvloop

        results = uvloop.run(coroutine)
    except ImportError:  # pragma: no cover - optional
        results = asyncio.run(coroutine)
    args.output.write_bytes(pickle.dumps(results))


if __name__ == "__main__":
    main()
