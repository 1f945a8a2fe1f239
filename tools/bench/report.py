#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""podwall bench: parse raw tool output, and turn the run's records into one table.

  report.py dnsperf FILE            dnsperf -v output -> one JSON line (latency
                                    percentiles from the per-query lines)
  report.py table RECORDS.jsonl OUT.json [OUT.md]
                                    medians and spreads over runs, ratios against
                                    each arm's baseline, targets; prints the table,
                                    writes the JSON copy (and a Markdown table)

Standard library only. Percentiles are nearest-rank; a figure over runs is the
median of the per-run figures, its spread the min-max of those.
"""
import json
import re
import math
import statistics
import sys


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = max(1, min(len(sorted_vals), math.ceil(p / 100.0 * len(sorted_vals))))
    return sorted_vals[i - 1]


def parse_dnsperf(path):
    lat, other, rcodes = [], [], {}
    out = {"sent": None, "completed": None, "lost": None}
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                parts = line.split()
                # "> NOERROR name type 0.000123"
                rc = parts[1]
                rcodes[rc] = rcodes.get(rc, 0) + 1
                try:
                    v = float(parts[-1])
                except ValueError:
                    continue
                if rc == "NOERROR":
                    lat.append(v * 1e6)
                other.append(v * 1e6)
            else:
                s = line.strip()
                for key, name in (("Queries sent:", "sent"), ("Queries completed:", "completed"),
                                  ("Queries lost:", "lost")):
                    if s.startswith(key):
                        out[name] = int(s[len(key):].split()[0])
    if not lat:
        lat = other  # every answer an error (REFUSED by the node): their latency
    lat.sort()
    out.update({
        "answers_noerror": len(lat),
        "rcodes": rcodes,
        "p50_us": pct(lat, 50),
        "p90_us": pct(lat, 90),
        "p99_us": pct(lat, 99),
        "mean_us": statistics.fmean(lat) if lat else None,
    })
    print(json.dumps(out))


# ---------------------------------------------------------------- table


class Table:
    def __init__(self):
        self.rows = []
        self.json = {}

    def add(self, section, arm, figure, spread="", ratio="", target="", met=""):
        self.rows.append((section, arm, figure, spread, ratio, target, met))


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def spread(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return ""
    return f"{fmt(min(vals))}–{fmt(max(vals))}"


def yesno(ok):
    if ok is None:
        return "n/a"
    return "yes" if ok else "NO"


def f0(v):
    return "n/a" if v is None else f"{v:,.0f}"


def f1(v):
    return "n/a" if v is None else f"{v:,.1f}"


def f2(v):
    return "n/a" if v is None else f"{v:.2f}"


def pctstr(r):
    return "n/a" if r is None else f"{100 * r:.1f} %"


def paired_ratios(recs, field):
    """podwall / no filter within each round (they run back to back)."""
    rounds = {}
    for r in recs:
        rounds.setdefault(r["run"], {})[r["variant"]] = r.get(field)
    out = []
    for d in rounds.values():
        if d.get("nofilter") and d.get("podwall"):
            out.append(d["podwall"] / d["nofilter"])
    return out


PKT_LABELS = {
    "open": "unenforced pod (open mode)",
    "unmanaged": "veth not registered",
    "flow_hit": "flow-table hit",
    "learned_1st_same": "1st pkt, learned addr (same addr)",
    "learned_1st": "1st pkt, learned addr (random addr)",
    "cidr_1st": "1st pkt, CIDR hit",
    "deny": "deny",
    "readmit_1st": "mid-stream TCP, flow evicted: re-admitted",
    "learned_1st_same_at_share": "1st pkt, learned addr, pod at its flow share",
    "cidr_1st_at_share": "1st pkt, CIDR hit, pod at its flow share",
    "readmit_1st_at_share": "mid-stream TCP, no flow, pod at its flow share",
}


def loadstr(rs):
    ls = [r.get("loadavg") for r in rs if r.get("loadavg") is not None]
    return f"load {min(ls):.1f}–{max(ls):.1f}" if ls else ""


def run_path(rs):
    """The path the counters show for every run of a series, or 'mixed (..)'."""
    paths = sorted({r.get("path") or "unknown" for r in rs})
    return paths[0] if len(paths) == 1 else "mixed (" + ", ".join(paths) + ")"


# Targets of the added latency by the path the answers really took (issue 12).
DNS_TARGETS = {"inline": (10, 50), "held": (50, None)}


def dns_section(t, runs):
    for suffix, sec in (("", "5 DNS at 1,000 q/s (dnsperf, 5 s runs)"),
                        ("_loaded", "5b DNS again after the footprint arm (maps full), one 12 s run")):
        base = runs.get("nofilter" + suffix, [])
        series = [("podwall" + suffix, base)]
        if not suffix:
            series.append(("podwall_held", runs.get("nofilter_h", [])))
        for v in ("nofilter" + suffix,) + (("nofilter_h",) if not suffix else ()):
            rs = runs.get(v, [])
            if not rs:
                continue
            lab = "no podwall" + (" (beside the held runs)" if v == "nofilter_h" else "")
            lost = sum((r.get("lost") or 0) for r in rs)
            t.add(sec, f"{lab}: p50 / p99",
                  f"{f1(med([r['p50_us'] for r in rs]))} / {f1(med([r['p99_us'] for r in rs]))} µs",
                  "p50 " + spread([r["p50_us"] for r in rs], f1) + f", {lost} lost; {loadstr(rs)}")
        for v, b in series:
            rs = runs.get(v, [])
            if not rs:
                continue
            path = run_path(rs)
            lab = f"podwall, {path} path"
            lost = sum((r.get("lost") or 0) for r in rs)
            sent = sum((r.get("sent") or 0) for r in rs)
            c = {}
            for r in rs:
                for k, x in (r.get("counters") or {}).items():
                    if isinstance(x, (int, float)):
                        c[k] = c.get(k, 0) + x
            t.add(sec, f"{lab}: p50 / p99",
                  f"{f1(med([r['p50_us'] for r in rs]))} / {f1(med([r['p99_us'] for r in rs]))} µs",
                  "p50 " + spread([r["p50_us"] for r in rs], f1) + f"; {loadstr(rs)}")
            t.add(sec, f"{lab}: answers lost", f"{lost} of {sent:,}",
                  f"inline {c.get('inline', 0):,}, held {c.get('k_held', 0):,}, "
                  f"released {c.get('released', 0):,}"
                  + (f", learn log full {c['log_full']:,}" if c.get("log_full") else ""),
                  "", "0", yesno(lost == 0))
            held = c.get("held_seen", 0)
            if path == "inline" and c.get("inline"):
                cpu = sum((r.get("agent_cpu_us") or 0) for r in rs)
                t.add(sec, "agent CPU per inline answer (reading pw_learn_log)",
                      f"{cpu / c['inline']:.0f} µs", "", "", "(10 ms tick resolution)")
            if held:
                cpu = sum((r.get("agent_cpu_us") or 0) for r in rs)
                t.add(sec, "agent CPU per held answer", f"{cpu / held:.0f} µs",
                      "", "", "(10 ms tick resolution)")
            if b:
                tg = DNS_TARGETS.get(path, (None, None))
                for i, p in enumerate(("p50_us", "p99_us")):
                    pairs = [(x, y) for x, y in zip(b, rs) if x.get(p) is not None and y.get(p) is not None]
                    if not pairs:
                        continue
                    m = med([y[p] for _, y in pairs]) - med([x[p] for x, _ in pairs])
                    tgt = tg[i]
                    t.add(sec, f"added by the {path} path: {p[:3]}", f"{f1(m)} µs",
                          spread([y[p] - x[p] for x, y in pairs], f1), "",
                          f"≤ {tgt} µs" if tgt else "", yesno(m <= tgt) if tgt else "")
        rr = runs.get("podwall_refused" + suffix, [])
        if rr:
            path = run_path(rr)
            lab = "podwall, a name no policy grants" + \
                (" (REFUSED by the node)" if path == "refused" else f" (path: {path})")
            p50 = med([r["p50_us"] for r in rr])
            t.add(sec, f"{lab}: p50", f"{f1(p50)} µs", spread([r["p50_us"] for r in rr], f1),
                  "", "≤ 20 µs", yesno(p50 is not None and p50 <= 20 and path == "refused"))
            t.add(sec, f"{lab}: p99", f"{f1(med([r['p99_us'] for r in rr]))} µs",
                  spread([r["p99_us"] for r in rr], f1) + f"; {loadstr(rr)}")


def dns_floor_section(t, fl, runs):
    """Where a refused name's time goes: the same answers, three clients."""
    if not fl and not runs.get("loopback_refused"):
        return
    sec = "5c a refused name's time, by client (µs, p50, median of runs)"
    pings = {}
    for r in fl:
        if r.get("client") == "dnsping":
            pings.setdefault((r["variant"], r["threads"]), []).append(r)
    labels = (("podwall_refused", "REFUSED by podwall in the kernel (on the veth)"),
              ("loopback_refused", "REFUSED by a userspace responder on the pod's loopback"),
              ("nofilter", "resolver round trip (dnsmasq), no podwall"),
              ("icmp_unreach", "the node kernel's ICMP port unreachable, no podwall"))
    fig = {}
    for v, lab in labels:
        dp = runs.get(v, [])
        cells = []
        fig[v] = {"dnsperf": med([r["p50_us"] for r in dp]) if dp else None}
        if not dp and not pings.get((v, 1)):
            continue
        for th in (1, 2):
            rs = pings.get((v, th), [])
            fig[v][th] = med([r["p50_us"] for r in rs]) if rs else None
            lost = sum(r.get("lost", 0) for r in rs)
            if rs:
                cells.append(f"dnsping/{th} {f1(fig[v][th])}" + (f" ({lost} lost)" if lost else ""))
        t.add(sec, lab, f"dnsperf {f1(fig[v]['dnsperf'])}" if dp else "dnsperf: n/a (no DNS answer)",
              " · ".join(cells) + "; " + loadstr(dp + pings.get((v, 1), [])))
    k = fig.get("podwall_refused", {})
    if k.get("dnsperf") is not None and k.get(1) is not None:
        t.add(sec, "refused by podwall: the client's share of dnsperf's p50 (dnsperf − dnsping/1)",
              f"{f1(k['dnsperf'] - k[1])} µs",
              f"of {f1(k['dnsperf'])} µs; the round trip without it {f1(k[1])} µs")
    if k.get(2) is not None and k.get(1) is not None:
        t.add(sec, "  of which a receiver thread's wake-up (dnsping/2 − dnsping/1)",
              f"{f1(k[2] - k[1])} µs")
    if k.get(1) is not None:
        # The target's own measure: the answer's time from send() to recv()
        # in the pod, without a client's hand-off to another thread.
        rs = pings.get(("podwall_refused", 1), [])
        path_ok = all((r.get("path") or "refused") == "refused" for r in rs)
        t.add(sec, "refused name answered by the node, send() to recv() (dnsping/1): p50",
              f"{f1(k[1])} µs", spread([r["p50_us"] for r in rs], f1), "", "≤ 20 µs",
              yesno(k[1] <= 20 and path_ok))
    for r in fl:
        if r.get("kind") != "bpf_stats":
            continue
        n = (r.get("counters") or {}).get("refused", 0)
        for name, x in sorted((r.get("progs") or {}).items()):
            if x.get("runs"):
                t.add(sec, f"kernel: {name} (bpf_stats, {x['runs']:,} runs, {n:,} refused)",
                      f"{x['ns'] / x['runs'] / 1000:.2f} µs a run")


def dns_inline_section(t, recs):
    """The kernel's time for an answer learned inline (bpf_stats)."""
    sec = "5 DNS at 1,000 q/s (dnsperf, 5 s runs)"
    for r in recs:
        if r.get("kind") != "bpf_stats":
            continue
        c = r.get("counters") or {}
        n = c.get("inline", 0)
        for name, x in sorted((r.get("progs") or {}).items()):
            if x.get("runs"):
                t.add(sec, f"kernel: {name} (bpf_stats, dnsping 3 s, {x['runs']:,} runs, "
                      f"{n:,} learned inline)", f"{x['ns'] / x['runs'] / 1000:.2f} µs a run",
                      f"load {r.get('loadavg', '?')}")
        if n:
            t.add(sec, "  agent CPU per inline answer (same 3 s)",
                  f"{(r.get('agent_cpu_us') or 0) / n:.0f} µs", "", "", "(10 ms tick resolution)")


def dns_flood_section(t, fd, runs):
    alone, flood = runs.get("victim_alone", []), runs.get("victim_flood", [])
    if not alone and not flood:
        return
    sec = "5d another pod's lookups during one pod's flood (dnsperf 1,000 q/s)"
    # The counters are global: during the flood they move for the flooder too,
    # so the victim's path is the one its rounds alone show.
    vpath = run_path(alone) if alone else "?"
    for lab, rs in ((f"victim ({vpath} path), alone", alone),
                    (f"victim ({vpath} path), during the flood", flood),
                    ("a pod without podwall, during the same flood", runs.get("free_flood", []))):
        if not rs:
            continue
        lost = sum((r.get("lost") or 0) for r in rs)
        sent = sum((r.get("sent") or 0) for r in rs)
        t.add(sec, f"{lab}: p50 / p99",
              f"{f1(med([r['p50_us'] for r in rs]))} / {f1(med([r['p99_us'] for r in rs]))} µs",
              "p99 " + spread([r["p99_us"] for r in rs], f1) + f"; {loadstr(rs)}")
        t.add(sec, f"{lab}: lost", f"{lost} of {sent:,}", "", "", "0" if "victim" in lab else "",
              yesno(lost == 0) if "victim" in lab else "")
    ratios = [y["p99_us"] / x["p99_us"] for x, y in zip(alone, flood) if x.get("p99_us") and y.get("p99_us")]
    if ratios:
        m = med(ratios)
        t.add(sec, "victim p99, flood / alone (paired by round)", f"×{m:.2f}",
              spread(ratios, lambda x: f"×{x:.2f}"), "", "≤ ×2", yesno(m <= 2))
    fl = [r for r in fd if r.get("kind") == "flooder"]
    if fl:
        c = {}
        for r in fl:
            for k, x in (r.get("counters") or {}).items():
                if isinstance(x, (int, float)):
                    c[k] = c.get(k, 0) + x
        t.add(sec, f"flooder: queries sent / answered ({len(fl)} runs of 10 s, 32 AAAA an answer)",
              f"{sum(r['sent'] for r in fl):,} / {sum(r['completed'] for r in fl):,}",
              f"held {c.get('k_held', 0):,}, over budget {c.get('budget', 0):,}, "
              f"inline {c.get('inline', 0):,}")
        if any("forwarded" in r for r in fl):
            rc = [r.get("resolver_counted") for r in fl]
            t.add(sec, "flooder: queries forwarded to the resolver / dropped over its query budget",
                  f"{sum(r.get('forwarded', 0) for r in fl):,} / "
                  f"{sum(r.get('dropped_budget', 0) for r in fl):,}",
                  "the resolver's own count " +
                  (f"{sum(rc):,}" if all(isinstance(x, int) for x in rc) else "n/a") +
                  f"; {loadstr(fl)}")


def build(recs):
    t = Table()
    out = {"meta": None, "na": [], "arms": {}}
    by = {}
    for r in recs:
        by.setdefault(r.get("arm"), []).append(r)
    meta = (by.get("meta") or [{}])[-1]
    out["meta"] = meta
    for r in by.get("na", []):
        out["na"].append(r)

    # ---- 1. per-packet cost
    pk = [r for r in by.get("pkt", []) if "path" in r]
    if pk:
        res = {}
        for r in pk:
            key = (r["path"], r["learned"], r.get("flows_max", 0))
            res[key] = r
        out["arms"]["pkt"] = {"records": pk,
                              "checks": [r for r in by.get("pkt", []) if "check" in r]}
        sizes = sorted({k[1] for k in res})
        base_size = sizes[0]
        targets = {"flow_hit": 30.0}
        order = ["open", "unmanaged", "flow_hit", "learned_1st_same", "learned_1st", "cidr_1st",
                 "deny", "readmit_1st", "learned_1st_same_at_share", "cidr_1st_at_share",
                 "readmit_1st_at_share"]
        labels = PKT_LABELS
        for path in order:
            for size in sizes:
                r = res.get((path, size, 0))
                if not r:
                    continue
                tgt = targets.get(path, 60.0)
                base = res.get((path, base_size, 0))
                if path == "unmanaged":
                    t.add("1 per-packet (test_run, ns)", f"{labels[path]} @ {size:,} learned",
                          f"{r['median']:.0f} ns", f"{r['min']:.0f}–{r['max']:.0f}", "", "context", "")
                    continue
                ratio = None
                if base and base["median"] and size != base_size:
                    ratio = r["median"] / base["median"]
                met = r["median"] <= tgt
                target = f"≤ {tgt:.0f} ns"
                if size != base_size and ratio is not None:
                    target += f", ≤ +20 % vs {base_size:,}"
                    met = met and ratio <= 1.2
                t.add("1 per-packet (test_run, ns)", f"{labels[path]} @ {size:,} learned",
                      f"{r['median']:.0f} ns", f"{r['min']:.0f}–{r['max']:.0f}",
                      "" if ratio is None else f"×{ratio:.2f} vs {base_size:,}", target,
                      yesno(met))
        for size in sizes:
            fl = res.get(("floor", size, 0))
            wr = res.get(("pktvary_overhead", size, 0))
            if fl:
                t.add("1 per-packet (test_run, ns)", f"(test_run floor: empty prog) @ {size:,}",
                      f"{fl['median']:.0f} ns", f"{fl['min']:.0f}–{fl['max']:.0f}", "",
                      "context", "")
            if wr:
                t.add("1 per-packet (test_run, ns)", f"(pktvary rewrite, subtracted) @ {size:,}",
                      f"{wr['median']:.0f} ns", f"{wr['min']:.0f}–{wr['max']:.0f}", "",
                      "context", "")
        for cal, lab in (("cal_ktime_call", "(one helper call: bpf_ktime_get_ns)"),
                         ("cal_hash_lookup", "(one hash-map lookup, hot)")):
            r = res.get((cal, base_size, 0))
            if r:
                t.add("1 per-packet (test_run, ns)", lab + " net of floor", f"{r['median']:.0f} ns",
                      f"{r['min']:.0f}–{r['max']:.0f}", "", "context", "")
        diag = sorted({k[2] for k in res if k[2]})
        for fm in diag:
            for path in order:
                for size in sizes:
                    r = res.get((path, size, fm))
                    if r:
                        t.add("1b diagnostic: pw_flows resized to %d (cache-resident)" % fm,
                              f"{labels[path]} @ {size:,} learned", f"{r['median']:.0f} ns",
                              f"{r['min']:.0f}–{r['max']:.0f}", "", "diagnostic", "")

    # ---- 1d. per-packet, this tree against an earlier one (arm pktcmp)
    pc = by.get("pktcmp", [])
    if pc:
        out["arms"]["pktcmp"] = {"records": pc}
        sec = "1d per-packet, this tree vs BENCH_PKT_BEFORE (ns, 10 learned, median of rounds)"
        for path in ("open", "flow_hit", "learned_1st_same", "learned_1st", "cidr_1st", "deny"):
            b = [r["median"] for r in pc if r["path"] == path and r["tree"] == "before"]
            a = [r["median"] for r in pc if r["path"] == path and r["tree"] == "after"]
            if not a or not b:
                continue
            ratio = med(a) / med(b)
            t.add(sec, PKT_LABELS.get(path, path), f"{med(b):.0f} → {med(a):.0f} ns",
                  f"before {min(b):.0f}–{max(b):.0f}, after {min(a):.0f}–{max(a):.0f}",
                  f"×{ratio:.2f}", "no worse (≤ ×1.05)", yesno(ratio <= 1.05))
        t.add(sec, "(load average during the rounds)", loadstr(pc))

    # ---- 2/3. throughput and connection rate
    def arm_runs(name, field):
        d = {}
        for r in by.get(name, []):
            d.setdefault(r["variant"], []).append(r.get(field))
        return d

    variants = ["nofilter", "podwall", "ipt10", "ipt1000", "ipt10000", "ipset"]
    vlabel = {
        "nofilter": "no filter (pod without podwall)",
        "podwall": "podwall (enforced, CIDR rule)",
        "ipt10": "iptables FORWARD, 10 rules",
        "ipt1000": "iptables FORWARD, 1,000 rules",
        "ipt10000": "iptables FORWARD, 10,000 rules",
        "ipset": "ipset hash:ip,port, 1 rule",
    }
    tp = arm_runs("tput", "bps")
    if tp:
        base = med(tp.get("nofilter", []))
        out["arms"]["tput"] = {v: {"runs_bps": tp[v], "median_bps": med(tp[v])} for v in tp}
        ipset_m = med(tp.get("ipset", []))
        for v in variants:
            if v not in tp:
                continue
            m = med(tp[v])
            ratio = m / base if m and base else None
            target, met = "", ""
            if v == "podwall":
                target = "≥ 97 % of no filter, ≥ ipset"
                met = yesno(None if ratio is None else (ratio >= 0.97 and
                                                        (ipset_m is None or m >= ipset_m)))
            t.add("2 TCP throughput, 1 stream, 5 s", vlabel[v] + f" ({len(tp[v])} runs)",
                  f"{m / 1e9:.2f} Gbit/s" if m else "n/a",
                  spread(tp[v], lambda x: f"{x / 1e9:.2f}"), pctstr(ratio), target, met)
        pk = [r.get("podwall_egress_pkts") for r in by.get("tput", [])
              if r["variant"] == "podwall" and r.get("podwall_egress_pkts")]
        fh = [r for r in by.get("pkt", []) if r.get("path") == "flow_hit" and not r.get("flows_max")]
        if pk and fh:
            n = med(pk)
            ns = min(r["median"] for r in fh)
            t.add("2 TCP throughput, 1 stream, 5 s", "podwall work in its run: skbs through pod_egress",
                  f"{n:,.0f} skbs", f"× {ns:.0f} ns = {n * ns / 1e6:.1f} ms of 5 s",
                  f"{100 * n * ns / 5e9:.2f} % of a CPU", "(model)", "")
        paired = paired_ratios(by.get("tput", []), "bps")
        if paired:
            t.add("2 TCP throughput, 1 stream, 5 s", "podwall / no filter, paired by round",
                  pctstr(med(paired)), spread(paired, pctstr), "", "(drift check)", "")
    cr = arm_runs("conn", "rate")
    if cr:
        base = med(cr.get("nofilter", []))
        out["arms"]["conn"] = {
            v: {"runs_rate": cr[v], "median_rate": med(cr[v]),
                "fails": sum(r.get("fail", 0) for r in by["conn"] if r["variant"] == v)}
            for v in cr}
        for v in variants:
            if v not in cr:
                continue
            m = med(cr[v])
            ratio = m / base if m and base else None
            target, met = "", ""
            if v == "podwall":
                target = "≥ 95 % of no filter"
                met = yesno(None if ratio is None else ratio >= 0.95)
            fails = out["arms"]["conn"][v]["fails"]
            t.add("3 new connections/s (connect+close)",
                  vlabel[v] + f" ({len(cr[v])} runs)" + (f" [{fails} failed]" if fails else ""),
                  f"{f0(m)} /s", spread(cr[v], f0), pctstr(ratio), target, met)
        cs = [r for r in by.get("conn", []) if r["variant"] == "podwall" and r.get("podwall_first_pkts")]
        fh = {r["path"]: r["median"] for r in by.get("pkt", [])
              if r.get("path") and not r.get("flows_max") and r.get("learned") == 10}
        if cs and fh.get("flow_hit") and fh.get("cidr_1st"):
            cpu = [(r["podwall_first_pkts"] * fh["cidr_1st"] + r["podwall_flow_pkts"] * fh["flow_hit"])
                   / (r["seconds"] * 1e9) for r in cs]
            per = [(r["podwall_first_pkts"] * fh["cidr_1st"] + r["podwall_flow_pkts"] * fh["flow_hit"])
                   / max(1, r["ok"]) / 1e3 for r in cs]
            t.add("3 new connections/s (connect+close)", "podwall work: pod_egress per connection",
                  f"{med(per):.1f} µs", f"{100 * med(cpu):.2f} % of a CPU", "", "(model, egress only)", "")
        paired = paired_ratios(by.get("conn", []), "rate")
        if paired:
            t.add("3 new connections/s (connect+close)",
                  f"podwall / no filter, paired by round ({len(paired)} pairs)",
                  pctstr(med(paired)), spread(paired, pctstr), "", "(drift check)", "")

    # ---- 4. forward proxy
    px = by.get("proxy", [])
    if px:
        out["arms"]["proxy"] = {"records": px}
        plabel = {"direct_nofilter": "direct, no filter", "direct_podwall": "direct, podwall",
                  "squid": "squid CONNECT allowlist"}
        small = {}
        bulk = {}
        for r in px:
            (small if r["kind"] == "small" else bulk).setdefault(r["variant"], []).append(r)
        b50 = med([r["p50_us"] for r in small.get("direct_nofilter", [])])
        b99 = med([r["p99_us"] for r in small.get("direct_nofilter", [])])
        brate = med([r["rate"] for r in small.get("direct_nofilter", [])])
        bbulk = med([r["bits_per_second"] for r in bulk.get("direct_nofilter", [])])
        for v in ("direct_nofilter", "direct_podwall", "squid"):
            rs = small.get(v, [])
            if rs:
                p50 = med([r["p50_us"] for r in rs])
                p99 = med([r["p99_us"] for r in rs])
                rate = med([r["rate"] for r in rs])
                fails = sum(r.get("fail", 0) for r in rs)
                t.add("4 fetch 1 KiB, new conn each (µs)", f"{plabel[v]}: p50" + (f" [{fails} failed]" if fails else ""),
                      f"{f1(p50)} µs", spread([r["p50_us"] for r in rs], f1),
                      "" if not b50 else f"×{p50 / b50:.2f}")
                t.add("4 fetch 1 KiB, new conn each (µs)", f"{plabel[v]}: p99", f"{f1(p99)} µs",
                      spread([r["p99_us"] for r in rs], f1),
                      "" if not b99 else f"×{p99 / b99:.2f}")
                t.add("4 fetch 1 KiB, new conn each (µs)", f"{plabel[v]}: requests/s (sequential)",
                      f"{f0(rate)} /s", spread([r["rate"] for r in rs], f0),
                      "" if not brate else pctstr(rate / brate))
            rb = bulk.get(v, [])
            if rb:
                bps = med([r["bits_per_second"] for r in rb])
                t.add("4 fetch 1 KiB, new conn each (µs)", f"{plabel[v]}: bulk 512 MiB fetch",
                      f"{bps / 1e9:.2f} Gbit/s", spread([r["bits_per_second"] for r in rb],
                                                         lambda x: f"{x / 1e9:.2f}"),
                      "" if not bbulk else pctstr(bps / bbulk))

    # ---- 5. DNS
    dn = by.get("dns", [])
    if dn:
        out["arms"]["dns"] = {"records": dn}
        runs = {}
        for r in dn:
            runs.setdefault(r["variant"], []).append(r)
        dns_section(t, runs)
    dns_inline_section(t, by.get("dnsinline", []))
    dns_floor_section(t, by.get("dnsfloor", []), runs if dn else {})
    dns_flood_section(t, by.get("dnsflood", []), runs if dn else {})

    # ---- 1c. a whole reconcile (tools/bench/hookbench.c): hooks + drift
    rx = re.compile(r"^(tcx|legacy)\s+reconcile, (\d+) endpoints: ([\d.]+) ms median of (\d+) "
                    r"\(([\d.]+)-([\d.]+) ms; veth lookups ([\d.]+) ms, hook check ([\d.]+) ms, "
                    r"drift check ([\d.]+) ms")
    for r in by.get("hooks", []):
        m = rx.match(r.get("line", ""))
        if not m:
            continue
        mode, n, total, rounds, lo, hi, look, hooks, drift = m.groups()
        sec = f"1c reconcile, {n} endpoints on real veths (ms, median of {rounds})"
        out["arms"].setdefault("reconcile", {})[mode] = {
            "endpoints": int(n), "total_ms": float(total), "min_ms": float(lo),
            "max_ms": float(hi), "veth_lookups_ms": float(look), "hook_check_ms": float(hooks),
            "drift_check_ms": float(drift)}
        t.add(sec, f"{mode}: whole reconcile (veths, hooks, drift)", f"{total} ms", f"{lo}–{hi} ms")
        t.add(sec, f"{mode}: of which hook check", f"{hooks} ms")
        t.add(sec, f"{mode}: of which drift check (maps vs agent)", f"{drift} ms")

    # ---- 6. footprint
    fp = by.get("footprint", [])
    if fp:
        r = fp[-1]
        out["arms"]["footprint"] = r
        t.add("6 agent footprint", "agent RSS, idle (policies loaded, 2 pods)",
              f"{r['idle_rss_kib'] / 1024:.1f} MiB" if r.get("idle_rss_kib") else "n/a")
        t.add("6 agent footprint",
              f"agent RSS at {r.get('endpoints', 0)} endpoints, {r.get('learned', 0):,} learned",
              f"{r['rss_kib'] / 1024:.2f} MiB" if r.get("rss_kib") else "n/a",
              f"peak {r['hwm_kib'] / 1024:.2f} MiB" if r.get("hwm_kib") else "", "", "≤ 16 MiB",
              yesno(r["rss_kib"] <= 16 * 1024) if r.get("rss_kib") else "n/a")
        t.add("6 agent footprint", "BPF map memory (bpftool memlock, sum)",
              f"{r['memlock_total'] / 1048576:.1f} MiB" if r.get("memlock_total") else "n/a",
              "pw_learned " + (f"{r['maps'].get('pw_learned', 0) / 1048576:.1f} MiB" if r.get("maps") else "?"))
        t.add("6 agent footprint", f"time for {r.get('pods_made', 0)} pods (ADD + learning), 4 at a time",
              f"{r.get('learn_seconds', 0):.0f} s", f"{r.get('queries', 0):,} queries, "
              f"{r.get('dns_lost', 0)} lost, {r.get('pods_failed', 0)} pods failed")
        if "add_ms_first10" in r:
            t.add("6 agent footprint", "CNI ADD latency, first 10 → last 10 pods (median)",
                  f"{r['add_ms_first10']} → {r['add_ms_last10']} ms", "", 
                  f"×{r['add_ms_last10'] / max(1, r['add_ms_first10']):.1f}")
            t.add("6 agent footprint", "a pod's 23 AAAA queries, first 10 → last 10 pods",
                  f"{r['dns_ms_first10']} → {r['dns_ms_last10']} ms", "",
                  f"×{r['dns_ms_last10'] / max(1, r['dns_ms_first10']):.1f}")

    # ---- 7. reaction
    rc = by.get("react", [])
    if rc:
        out["arms"]["react"] = {"records": rc}
        pol = [r["ms"] for r in rc if r.get("kind") == "policy" and r.get("ok")]
        nfail = sum(1 for r in rc if r.get("kind") == "policy" and not r.get("ok"))
        if pol or nfail:
            t.add("7 reaction", "policy file → new CIDR enforced (first connect)",
                  f"{f1(med(pol))} ms", spread(pol, f1) + (f" ({nfail} timed out)" if nfail else ""),
                  "", f"median of {len(pol)}")
        for r in rc:
            if r.get("kind") != "dns":
                continue
            if r["variant"] == "podwall":
                t.add("7 reaction", "DNS query → pw_learned entry written (agent clock)",
                      f"{f1(r.get('q2l_p50_us'))} µs", f"p90 {f1(r.get('q2l_p90_us'))}", "",
                      f"median of {r.get('learned', 0)}")
                t.add("7 reaction", "entry written → answer at the pod (release)",
                      f"{f1(r.get('l2a_p50_us'))} µs", f"p90 {f1(r.get('l2a_p90_us'))}")
            t.add("7 reaction", f"DNS query → answer, {'podwall' if r['variant'] == 'podwall' else 'no podwall'}",
                  f"{f1(r.get('q2a_p50_us'))} µs", f"p90 {f1(r.get('q2a_p90_us'))}",
                  "", f"{r.get('answers', 0)} answers, {r.get('lost', 0)} lost")
    return t, out


def render(t, meta, na):
    cols = ("arm", "figure", "spread (min–max)", "ratio vs baseline", "target", "met?")
    rows = [r[1:] for r in t.rows]
    w = [max([len(c)] + [len(str(r[i])) for r in rows]) for i, c in enumerate(cols)]
    lines = []
    sec = None
    line = "  ".join(c.ljust(w[i]) for i, c in enumerate(cols))
    lines.append(line)
    lines.append("-" * len(line))
    for r in t.rows:
        if r[0] != sec:
            sec = r[0]
            lines.append(f"[{sec}]")
        lines.append("  ".join(str(v).ljust(w[i]) for i, v in enumerate(r[1:])).rstrip())
    for n in na:
        lines.append(f"n/a: {n.get('what')}: {n.get('reason')}")
    return "\n".join(lines)


def markdown(t, na):
    out = ["| section | arm | figure | spread (min–max) | ratio vs baseline | target | met? |",
           "|---|---|---|---|---|---|---|"]
    for r in t.rows:
        out.append("| " + " | ".join(str(v).replace("|", "/") for v in r) + " |")
    for n in na:
        out.append(f"| n/a | {n.get('what')} | n/a ({n.get('reason')}) | | | | |")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "dnsperf":
        parse_dnsperf(sys.argv[2])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "table":
        recs = []
        with open(sys.argv[2]) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    print(f"report: skipped a malformed record: {line[:80]}", file=sys.stderr)
        t, out = build(recs)
        out["table"] = [dict(zip(("section", "arm", "figure", "spread", "ratio", "target", "met"), r))
                        for r in t.rows]
        with open(sys.argv[3], "w") as f:
            json.dump(out, f, indent=1)
        print(render(t, out["meta"], out["na"]))
        if len(sys.argv) >= 5:
            with open(sys.argv[4], "w") as f:
                f.write(markdown(t, out["na"]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
