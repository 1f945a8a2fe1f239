#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Parse the /metrics pages with prometheus_client's text parser (the text
format page) and its OpenMetrics parser (the page served for an OpenMetrics
Accept header), the strict ones. Exit 1 with the reason when either refuses
its page, when a family comes out typed 'unknown' (samples of it strayed from
its group), when a family appears twice, or when the two pages disagree on
the families. podwall_build_info must be one sample with the labels version,
commit and bpf_object in both pages; --bpf-object ID: its bpf_object must be
ID (what `podwall version -o json` says).

usage: metrics_check.py TEXT_PAGE OPENMETRICS_PAGE [--bpf-object ID] [--require NAME ...]
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse


def main():
    text = open(sys.argv[1]).read()
    omtext = open(sys.argv[2]).read()
    required = sys.argv[sys.argv.index("--require") + 1:] if "--require" in sys.argv else []
    want_obj = sys.argv[sys.argv.index("--bpf-object") + 1] if "--bpf-object" in sys.argv else None
    fams = list(text_parse(text))
    names = [f.name for f in fams]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        sys.exit("text parser: families split into several groups: %s" % ", ".join(dup))
    unknown = [f.name for f in fams if f.type == "unknown"]
    if unknown:
        sys.exit("text parser: families typed unknown: %s" % ", ".join(unknown))
    om = list(om_parse(omtext))
    om_names = {f.name for f in om}
    om_unknown = [f.name for f in om if f.type == "unknown"]
    if om_unknown:
        sys.exit("OpenMetrics parser: families typed unknown: %s" % ", ".join(om_unknown))
    if om_names != set(names):
        sys.exit("the two pages differ: %s" % ", ".join(sorted(om_names ^ set(names))))
    missing = [r for r in required if r not in set(names) and r not in om_names]
    if missing:
        sys.exit("families missing: %s" % ", ".join(missing))
    for which, fs in (("text", fams), ("OpenMetrics", om)):
        bi = [f for f in fs if f.name == "podwall_build_info"]
        if not bi or len(bi[0].samples) != 1:
            sys.exit("%s parser: podwall_build_info is not one sample" % which)
        labels = bi[0].samples[0].labels
        if set(labels) != {"version", "commit", "bpf_object"} or not all(labels.values()):
            sys.exit("%s parser: podwall_build_info labels %s" % (which, labels))
        if want_obj is not None and labels["bpf_object"] != want_obj:
            sys.exit("%s parser: podwall_build_info bpf_object %s, version says %s"
                     % (which, labels["bpf_object"], want_obj))
    samples = sum(len(f.samples) for f in fams)
    print("text parser: %d families, %d samples; OpenMetrics parser: %d families"
          % (len(fams), samples, len(om)))


if __name__ == "__main__":
    main()
