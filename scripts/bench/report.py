#!/usr/bin/env python3
"""Collects the benchmark's measurements and writes its report.

  report.py record RESULTS --kind sns|healthz|syncs|deliveries ...
                                                         checks one measurement, prints a line
                                                         about it and appends it to RESULTS
  report.py table RESULTS --md FILE --machine FILE       prints every run and the medians as a
                                                         Markdown table, writes it to FILE

RESULTS holds one JSON object per line. `table` exits with status 1 when any recorded check
failed (a receiver that answered 200 without storing, fetched the certificate more often than
it should, or refused genuine messages), after printing the report.
"""
import argparse
import json
import re
import statistics
import sys

LABELS = {
    "sqlite": "defender-relay, SQLite",
    "postgres": "defender-relay, PostgreSQL",
    "peer": "Python peer (Flask, gunicorn -w 2, aws-sns-verifier, SQLite)",
}
ORDER = ["sqlite", "postgres", "peer"]


def parse_wrk(path):
    """The BENCH_RESULT line of post.lua, requests/s and socket errors of a wrk run."""
    with open(path) as handle:
        text = handle.read()
    result = {}
    match = re.search(r"^BENCH_RESULT (\{.*\})$", text, re.M)
    if match:
        result.update(json.loads(match.group(1)))
    match = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if match:
        result["requests_per_s"] = float(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if match:
        result["socket_errors"] = dict(zip(["connect", "read", "write", "timeout"], map(int, match.groups())))
    return result


def non_200(statuses):
    return {status: count for status, count in (statuses or {}).items() if status != "200"}


def record(args):
    entry = {"kind": args.kind, "target": args.target, "run": args.run}
    failures, notes = [], []
    if args.kind == "healthz":
        wrk = parse_wrk(args.wrk)
        entry["requests_per_s"] = wrk.get("requests_per_s")
        if entry["requests_per_s"] is None:
            failures.append("wrk printed no Requests/sec")
        line = f"healthz run {args.run}: {entry['requests_per_s']} requests/s"
    elif args.kind == "deliveries":
        with open(args.stats) as handle:
            stats = json.load(handle)
        span = (stats["last"] or 0) - (stats["first"] or 0)
        entry.update(expected=args.expected, received=stats["count"], distinct=stats["distinct_keys"],
                     connections=stats["connections"], span_s=round(span, 3), delivered_state=args.delivered,
                     per_s=round((stats["count"] - 1) / span, 1) if span > 0 else None)
        if stats["distinct_keys"] != args.expected:
            failures.append(f"the webhook received {stats['distinct_keys']} distinct deliveries, expected {args.expected}")
        if args.delivered != args.expected:
            failures.append(f"the relay counts {args.delivered} deliveries delivered, expected {args.expected}")
        line = (f"webhook run {args.run}: {entry['per_s']} deliveries/s ({stats['count']} requests in {span:.2f} s "
                f"over {stats['connections']} connections; {stats['distinct_keys']} distinct of {args.expected})")
    elif args.kind == "syncs":
        wrk = parse_wrk(args.wrk)
        accepted = args.probe + wrk.get("recorded", 0)
        entry.update(syncs=args.syncs, accepted=accepted, rows=args.rows,
                     per_message=round(args.syncs / accepted, 3) if accepted else None)
        if args.rows != accepted:
            failures.append(f"{args.rows} rows stored but {accepted} messages answered 200 recorded")
        line = f"syncs (relay, SQLite, under strace): {args.syncs} fsync/fdatasync for {accepted} accepted = {entry['per_message']} per message"
    else:
        wrk = parse_wrk(args.wrk)
        with open(args.open) as handle:
            open_loop = json.load(handle)
        window = wrk.get("window_s") or 0
        recorded_closed = wrk.get("recorded", 0)
        entry.update(
            accepted_per_s=round(recorded_closed / window, 1) if window else 0.0,
            closed={"recorded": recorded_closed, "duplicate": wrk.get("duplicate", 0), "window_s": window,
                    "planned_s": args.planned_s, "exhausted": wrk.get("exhausted", 0),
                    "non_200": non_200(wrk.get("statuses")), "socket_errors": wrk.get("socket_errors")},
            open=open_loop,
            rss_kb=args.rss_kb, rss_processes=args.rss_processes, fetches=args.fetches, rows=args.rows,
            answered_200=args.probe + recorded_closed + open_loop.get("recorded", 0),
        )
        if "window_s" not in wrk:
            failures.append("wrk printed no BENCH_RESULT line (see the wrk output)")
        if entry["rows"] != entry["answered_200"]:
            failures.append(f"{entry['rows']} rows stored but {entry['answered_200']} messages answered 200 recorded")
        duplicates = wrk.get("duplicate", 0) + open_loop["statuses"].get("200", 0) - open_loop["recorded"]
        if duplicates:
            failures.append(f"{duplicates} fresh messages were answered 200 but not \"recorded\"")
        refused = sum(entry["closed"]["non_200"].values()) + sum(non_200(open_loop["statuses"]).values())
        if refused or open_loop.get("errors"):
            failures.append(f"genuine messages not accepted: closed loop {entry['closed']['non_200']}, "
                            f"open loop {non_200(open_loop['statuses'])}, {open_loop.get('errors', 0)} connection errors")
        if args.expect_fetches is not None and args.fetches != args.expect_fetches:
            failures.append(f"{args.fetches} certificate fetches, expected {args.expect_fetches}")
        if args.max_fetches is not None and args.fetches > args.max_fetches:
            failures.append(f"{args.fetches} certificate fetches, expected at most {args.max_fetches}")
        if wrk.get("exhausted") and window < 0.95 * args.planned_s:
            notes.append(f"the message slice ran out after {window:.1f} of {args.planned_s} s (raise BENCH_MESSAGES)")
        saturated = any(cpu > 0.9 for cpu in open_loop.get("generator_cpu", []))
        if saturated:
            notes.append(f"the open-loop generator used nearly a full core {open_loop['generator_cpu']}: "
                         "its own delays are in the latencies")
        if open_loop.get("achieved_rate") and open_loop["achieved_rate"] < 0.95 * open_loop["target_rate"]:
            worst = max(open_loop.get("per_second") or [{}], key=lambda second: second.get("max_latency_ms") or 0)
            cause = ("the generator could not keep up" if saturated else
                     "the receiver fell behind and every connection was waiting for an answer")
            notes.append(f"open loop sent {open_loop['achieved_rate']}/s of {open_loop['target_rate']}/s: {cause}; "
                         f"worst second {worst.get('second')}: latency up to {worst.get('max_latency_ms')} ms, "
                         f"sends late by up to {worst.get('max_late_ms')} ms")
        latency = open_loop["latency_ms"]
        line = (f"{args.target} run {args.run}: {entry['accepted_per_s']} accepted/s over {window:.2f} s, "
                f"non-200 {entry['closed']['non_200'] or 0}; open loop {open_loop['target_rate']:.0f}/s "
                f"(achieved {open_loop['achieved_rate']}/s): p50 {latency['p50']} ms, p99 {latency['p99']} ms, "
                f"p99.9 {latency['p99.9']} ms; RSS {args.rss_kb / 1024:.1f} MiB; cert fetches {args.fetches}; "
                f"rows {entry['rows']} / 200s {entry['answered_200']}")
    entry["failures"], entry["notes"] = failures, notes
    print(line)
    for note in notes:
        print(f"  note: {note}")
    for failure in failures:
        print(f"  FAILED: {failure}")
    with open(args.results, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def table(args):
    with open(args.results) as handle:
        entries = [json.loads(line) for line in handle if line.strip()]
    with open(args.machine) as handle:
        machine = "; ".join(line.strip() for line in handle if line.strip())
    sns = [entry for entry in entries if entry["kind"] == "sns"]
    healthz = [entry["requests_per_s"] for entry in entries if entry["kind"] == "healthz"]
    syncs = [entry for entry in entries if entry["kind"] == "syncs"]
    deliveries = [entry for entry in entries if entry["kind"] == "deliveries"]
    runs = max([entry["run"] for entry in entries if entry.get("run")] or [0])

    lines = [f"Machine: {machine}", ""]
    lines.append("| Receiver | Accepted/s (median) | Each run | Non-200 | Open loop at half peak: target / achieved req/s "
                 "| p50 ms | p99 ms | p99.9 ms | Peak RSS MiB | Cert fetches | Rows stored / 200s |")
    lines.append("|---|---:|---|---:|---|---:|---:|---:|---:|---|---|")
    medians = {}
    for target in ORDER:
        rows = [entry for entry in sns if entry["target"] == target]
        if not rows:
            continue
        rates = [entry["accepted_per_s"] for entry in rows]
        medians[target] = median(rates)
        refused = sum(sum(entry["closed"]["non_200"].values()) + sum(non_200(entry["open"]["statuses"]).values())
                      + entry["open"].get("errors", 0) for entry in rows)
        target_rate = median([entry["open"]["target_rate"] for entry in rows])
        achieved = median([entry["open"]["achieved_rate"] for entry in rows])
        latency = {key: median([entry["open"]["latency_ms"][key] for entry in rows]) for key in ("p50", "p99", "p99.9")}
        rss = median([entry["rss_kb"] / 1024 for entry in rows])
        stored, answered = sum(entry["rows"] for entry in rows), sum(entry["answered_200"] for entry in rows)
        rss_text = fmt(rss, 1) + (f" ({rows[0]['rss_processes']})" if rows[0].get("rss_processes") else "")
        lines.append(
            f"| {LABELS[target]} | {fmt(medians[target])} | {', '.join(fmt(rate) for rate in rates)} | {refused} "
            f"| {fmt(target_rate)} / {fmt(achieved)} | {fmt(latency['p50'], 2)} | {fmt(latency['p99'], 2)} "
            f"| {fmt(latency['p99.9'], 2)} | {rss_text} | {', '.join(str(entry['fetches']) for entry in rows)} "
            f"| {stored} / {answered}{'' if stored == answered else ' MISMATCH'} |")
    lines.append("")
    if healthz:
        lines.append(f"- defender-relay `GET /healthz` ceiling (wrk -t2 -c32): {fmt(median(healthz))} requests/s "
                     f"(each run: {', '.join(fmt(value) for value in healthz)})")
    for entry in syncs:
        lines.append(f"- Syncs per accepted message (defender-relay, SQLite, separate run under strace): "
                     f"{entry['per_message']} ({entry['syncs']} fsync/fdatasync for {entry['accepted']} messages)")
    if deliveries:
        rates = [entry["per_s"] for entry in deliveries]
        lines.append(f"- Webhook deliveries (release relay on SQLite, a local HTTPS receiver answering at once, no rate "
                     f"limit, concurrency 4): {fmt(median(rates))} per second (each run: {', '.join(fmt(rate) for rate in rates)}; "
                     f"{deliveries[0]['expected']} deliveries per run over {', '.join(str(entry['connections']) for entry in deliveries)} connections)")
    ratios = []
    if medians.get("sqlite") and medians.get("peer"):
        ratios.append(f"relay SQLite / peer {medians['sqlite'] / medians['peer']:.1f}×")
    if medians.get("sqlite") and healthz:
        ratios.append(f"relay SQLite / healthz ceiling {medians['sqlite'] / median(healthz):.2f}")
    if medians.get("postgres") and medians.get("peer"):
        ratios.append(f"relay PostgreSQL / peer {medians['postgres'] / medians['peer']:.1f}×")
    if ratios:
        lines.append("- Ratios of the medians: " + "; ".join(ratios))
    lines.append(f"- {runs} run{'s' if runs > 1 else ''}. Accepted/s: 200 \"recorded\" answers per second under `wrk -t2 -c32` (closed loop), "
                 "each message sent once, measured over the POST window. Latency: open-loop arrivals at half the "
                 "run's closed-loop peak, from the intended send time (no coordinated omission), medians over the "
                 "runs. Each run starts the receiver afresh on an empty store. Anything else running on the "
                 "machine skews the figures: see the load averages.")
    if any(entry["target"] == "peer" for entry in sns):
        lines.append("- Peer: peak RSS is the sum of VmHWM of the gunicorn master and its 2 workers; "
                     "aws-sns-verifier caches the certificate per worker process, so it fetches it up to once per worker.")
    for target in ORDER:
        rows = [entry for entry in sns if entry["target"] == target]
        if rows:
            cpus = [cpu for entry in rows for cpu in entry["open"].get("generator_cpu", [])]
            processes = max(len(entry["open"].get("generator_cpu", [])) for entry in rows)
            late = median([entry["open"]["send_late_ms"]["p99"] for entry in rows])
            lines.append(f"- Open-loop generator for {LABELS[target]}: Python asyncio, "
                         f"{processes} process{'es' if processes > 1 else ''}, "
                         f"at most {max(cpus):.2f} of a core per process; sends late by {fmt(late, 2)} ms at p99 "
                         "(that lateness is part of the latencies).")
    notes = [f"{entry.get('target') or entry['kind']} run {entry.get('run')}: {note}" for entry in entries for note in entry.get("notes", [])]
    failures = [f"{entry.get('target') or entry['kind']} run {entry.get('run')}: {failure}"
                for entry in entries for failure in entry.get("failures", [])]
    for note in notes:
        lines.append(f"- Note: {note}")
    for failure in failures:
        lines.append(f"- **FAILED**: {failure}")
    text = "\n".join(lines) + "\n"
    with open(args.md, "w") as handle:
        handle.write(text)
    print(text, end="")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("results")
    rec.add_argument("--kind", choices=["sns", "healthz", "syncs", "deliveries"], required=True)
    rec.add_argument("--target")
    rec.add_argument("--run", type=int)
    rec.add_argument("--wrk", help="the output of the wrk run")
    rec.add_argument("--stats", help="the webhook server's /__stats (deliveries)")
    rec.add_argument("--expected", type=int, default=0, help="deliveries queued (deliveries)")
    rec.add_argument("--delivered", type=int, default=0, help="deliveries the relay counts delivered (deliveries)")
    rec.add_argument("--open", help="the JSON printed by open_loop.py")
    rec.add_argument("--rss-kb", type=int, default=0)
    rec.add_argument("--rss-processes", default="")
    rec.add_argument("--fetches", type=int, default=0)
    rec.add_argument("--rows", type=int, default=0)
    rec.add_argument("--probe", type=int, default=1, help="messages the probe got stored")
    rec.add_argument("--syncs", type=int, default=0)
    rec.add_argument("--planned-s", type=float, default=0)
    rec.add_argument("--expect-fetches", type=int)
    rec.add_argument("--max-fetches", type=int)
    tab = commands.add_parser("table")
    tab.add_argument("results")
    tab.add_argument("--md", required=True)
    tab.add_argument("--machine", required=True)
    args = parser.parse_args()
    if args.command == "record":
        record(args)
        return 0
    return table(args)


if __name__ == "__main__":
    sys.exit(main())
