#!/usr/bin/env python3
"""Open-loop load generator for the benchmark's latency figures: POSTs SNS messages at a fixed
arrival rate, whatever the receiver's speed, and measures each request's latency from the time
it was meant to be sent (no coordinated omission: a slow answer delays the requests behind it,
and their waiting counts).

Request i (0-based) is meant to leave at t0 + i / RATE. Each of --connections keep-alive
connections (reopened when the server closes it) takes the next request, waits for its time,
sends it and reads the answer; latency = answer complete - min(intended, actual send). The
generator wakes up to 1 ms early and then sends, so that timer granularity does not add a
constant to every latency. With --processes P the schedule is dealt round-robin to P processes
that share one t0 and the --connections (asyncio in Python may not keep up with several
thousand requests per second on one core); t0 is set once every process has loaded its
messages. The report says whether the generator kept up: achieved rate, how late sends were,
and the CPU each process used.

Prints one JSON object: target_rate, achieved_rate, sent, statuses, recorded, errors,
latency_ms {p50, p99, p99.9, max}, send_late_ms {p50, p99}, generator_cpu (fraction of a core,
per process), and per_second: for each second of the schedule, the requests meant to leave in
it and their worst latency and lateness in ms (a stall of the receiver shows as latency well
above lateness; a generator that fell behind, as lateness close to latency).
"""
import argparse
import asyncio
import json
import multiprocessing
import sys
import time
import urllib.parse

HEAD = ("POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "x-amz-sns-message-type: Notification\r\nContent-Length: {length}\r\n\r\n")
EARLY = 0.001
TIMEOUT = 30.0
START_DELAY = 0.3


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[index]


def read_bodies(path, first, count, part, parts):
    """The bodies of global requests part, part + parts, ... among lines [first, first + count)."""
    bodies = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle):
            if number >= first + count:
                break
            if number >= first and (number - first) % parts == part:
                bodies.append(line.rstrip(b"\n"))
    return bodies


async def exchange(reader, writer, request):
    """Sends one request and reads its answer: (status, body, server keeps the connection)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep_alive = 0, not lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            keep_alive = value.strip().lower() != "close"
    body = await reader.readexactly(length) if length else b""
    return status, body, keep_alive


async def run_schedule(args, part, parts, requests, host, port, t0_wall):
    loop = asyncio.get_running_loop()
    t0 = loop.time() + (t0_wall - time.time())
    give_up = t0 + args.duration + TIMEOUT
    # (global index, latency, lateness) of every answered request
    samples, statuses = [], {}
    state = {"next": 0, "recorded": 0, "errors": 0, "last_send": t0}

    async def connection_worker():
        reader = writer = None
        while state["next"] < len(requests):
            if loop.time() > give_up:
                # A receiver that stopped answering must not hold the benchmark: what is left
                # unsent counts as errors.
                state["errors"] += len(requests) - state["next"]
                state["next"] = len(requests)
                break
            local = state["next"]
            state["next"] += 1
            index = local * parts + part
            intended = t0 + index / args.rate
            delay = intended - loop.time() - EARLY
            if delay > 0:
                await asyncio.sleep(delay)
            sent = loop.time()
            state["last_send"] = max(state["last_send"], sent)
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                status, body, keep_alive = await asyncio.wait_for(exchange(reader, writer, requests[local]), TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
                state["errors"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            done = loop.time()
            samples.append((index, done - min(intended, sent), sent - intended))
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200 and b'"recorded"' in body:
                state["recorded"] += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    cpu_start = time.process_time()
    await asyncio.gather(*(connection_worker() for _ in range(args.connections)))
    cpu = time.process_time() - cpu_start
    wall = loop.time() - t0
    return {"samples": samples, "statuses": statuses, "recorded": state["recorded"], "errors": state["errors"],
            "sent": len(requests), "send_span": state["last_send"] - t0, "cpu": cpu / wall if wall > 0 else 0.0}


def run_process(args, part, parts, ready, t0_shared, results):
    """One generator process: load its messages, wait until every process has, then run."""
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    bodies = read_bodies(args.messages, args.first, args.count, part, parts)
    requests = [HEAD.format(path=url.path, host=host, port=port, length=len(body)).encode() + body for body in bodies]
    ready.wait(timeout=120)  # every process has loaded its messages
    ready.wait(timeout=120)  # the parent has set t0
    results.put(asyncio.run(run_schedule(args, part, parts, requests, host, port, t0_shared.value)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/sns")
    parser.add_argument("--messages", required=True, help="one body per line")
    parser.add_argument("--first", type=int, required=True, help="first line to use (0-based)")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of arrivals")
    parser.add_argument("--connections", type=int, default=32, help="connections in all, shared out among the processes")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    args.count = max(1, int(args.rate * args.duration))
    args.connections = max(1, min(-(-args.connections // args.processes), args.count // args.processes or 1))

    ready = multiprocessing.Barrier(args.processes + 1)
    t0_shared = multiprocessing.Value("d", 0.0)
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=run_process, args=(args, part, args.processes, ready, t0_shared, queue))
                 for part in range(args.processes)]
    for process in processes:
        process.start()
    ready.wait(timeout=120)
    t0_shared.value = time.time() + START_DELAY
    ready.wait(timeout=120)
    results = [queue.get(timeout=args.duration + 2 * TIMEOUT) for _ in processes]
    for process in processes:
        process.join()

    samples = [sample for result in results for sample in result["samples"]]
    latencies = sorted(latency for _, latency, _ in samples)
    late = sorted(lateness for _, _, lateness in samples)
    per_second = {}
    for index, latency, lateness in samples:
        second = per_second.setdefault(int(index / args.rate), [0, 0.0, float("-inf")])
        second[0] += 1
        second[1] = max(second[1], latency)
        second[2] = max(second[2], lateness)
    statuses = {}
    for result in results:
        for status, count in result["statuses"].items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    sent = sum(result["sent"] for result in results)
    span = max(result["send_span"] for result in results)
    ms = lambda value: None if value is None else round(value * 1000, 3)
    print(json.dumps({
        "target_rate": args.rate,
        "achieved_rate": round((sent - 1) / span, 1) if span > 0 else None,
        "sent": sent,
        "statuses": statuses,
        "recorded": sum(result["recorded"] for result in results),
        "errors": sum(result["errors"] for result in results),
        "latency_ms": {"p50": ms(percentile(latencies, 0.50)), "p99": ms(percentile(latencies, 0.99)),
                       "p99.9": ms(percentile(latencies, 0.999)), "max": ms(latencies[-1] if latencies else None)},
        "send_late_ms": {"p50": ms(percentile(late, 0.50)), "p99": ms(percentile(late, 0.99))},
        "generator_cpu": [round(result["cpu"], 2) for result in results],
        "per_second": [{"second": second, "requests": count, "max_latency_ms": ms(latency), "max_late_ms": ms(lateness)}
                       for second, (count, latency, lateness) in sorted(per_second.items())],
    }))


if __name__ == "__main__":
    sys.exit(main())
