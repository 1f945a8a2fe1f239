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
        labels = {
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
        for suffix, sec in (("", "5 DNS at 1,000 q/s (dnsperf, 5 s runs)"),
                            ("_loaded", "5b DNS again after the footprint arm (maps full), one 12 s run")):
            for v in ("nofilter", "podwall"):
                rs = runs.get(v + suffix, [])
                if not rs:
                    continue
                lost = sum((r.get("lost") or 0) for r in rs)
                sent = sum((r.get("sent") or 0) for r in rs)
                lab = "no podwall" if v == "nofilter" else "podwall holding (toFQDNs match)"
                t.add(sec, f"{lab}: p50", f"{f1(med([r['p50_us'] for r in rs]))} µs",
                      spread([r["p50_us"] for r in rs], f1))
                t.add(sec, f"{lab}: p99", f"{f1(med([r['p99_us'] for r in rs]))} µs",
                      spread([r["p99_us"] for r in rs], f1))
                held = sum((r.get("held") or 0) for r in rs)
                rel = sum((r.get("released") or 0) for r in rs)
                extra = f", held {held:,}, released {rel:,}" if v == "podwall" else ""
                t.add(sec, f"{lab}: answers lost", f"{lost} of {sent:,}{extra}", "", "", "0",
                      yesno(lost == 0 and (held == rel)) if v == "podwall" else "")
                if v == "podwall" and held:
                    cpu = sum((r.get("agent_cpu_us") or 0) for r in rs)
                    t.add(sec, "agent CPU per held answer", f"{cpu / held:.0f} µs",
                          "", "", "(10 ms tick resolution)")
            rr = runs.get("podwall_refused" + suffix, [])
            if rr:
                lab = "podwall, a name no policy grants (REFUSED by the node)"
                p50 = med([r["p50_us"] for r in rr])
                t.add(sec, f"{lab}: p50", f"{f1(p50)} µs", spread([r["p50_us"] for r in rr], f1),
                      "", "≤ 20 µs", yesno(p50 is not None and p50 <= 20))
                t.add(sec, f"{lab}: p99", f"{f1(med([r['p99_us'] for r in rr]))} µs",
                      spread([r["p99_us"] for r in rr], f1))
            a, b = runs.get("nofilter" + suffix), runs.get("podwall" + suffix)
            if a and b:
                pairs = list(zip(a, b))
                held = sum((r.get("held") or 0) for r in b)
                for p, tgt in (("p50_us", 50), ("p99_us", 200)):
                    add = [y[p] - x[p] for x, y in pairs if x.get(p) is not None and y.get(p) is not None]
                    m = med([r[p] for r in b]) - med([r[p] for r in a])
                    t.add(sec, f"added by hold-learn-release: {p[:3]}", f"{f1(m)} µs",
                          spread(add, f1), "", f"≤ {tgt} µs",
                          yesno(m <= tgt) if held else "n/a (nothing held)")

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
