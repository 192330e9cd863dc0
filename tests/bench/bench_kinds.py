"""Every kind of image, every engine, one measure: this service against its peers on the dev sets.

    .venv/bin/python -m tests.bench.bench_kinds [--sets a,b] [--engines a,b]
        [--limit N[,set=N...]] [--data-root DIR] [--cls] [--turn 90|180|270]

Sets are tests/bench/dev_sets.py's (scanned receipts and forms, English pages,
screenshots, cropped street words, phone photos of receipts and forms, rendered
Chinese pages and photos of them); engines are tests/bench/peers.py's, all doing
the same work (every classifier off; ``--cls`` turns it on for all). The measure
is tests/bench/kind_metrics.py's: each predicted word is given to the truth box it
lies on, so reading order and segmentation do not count.

One table per run, one row per set and engine: CER (edits over truth characters,
case, whitespace and full-width forms ignored) and the two counts it comes from
(sets differ by a few edits, which three decimals hide), share of truth boxes read at all,
images where the engine read nothing, images where this service read nothing but a
peer read at least three words, median seconds per image. Conditions (cores, load
average, versions, each engine's peak memory) are printed from the machine.
"""

import argparse
import os
import sys
import time

from tests.bench import dev_sets
from tests.bench.kind_metrics import (
    PEER_READS_WORDS,
    SetTally,
    empty_where_peer_reads,
    score_image,
)
from tests.bench.peers import PEERS, conditions, open_peer

SERVICE = "this service"


def parse_limits(text):
    """``"4,scene-words-dev=50"`` -> (4, {"scene-words-dev": 50}): a default and per-set limits."""
    default, per_set = None, {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, _, value = item.rpartition("=")
        if name and name not in dev_sets.SETS:
            raise ValueError(f"unknown set {name!r} in --limit")
        if name:
            per_set[name] = int(value)
        else:
            default = int(value)
    return default, per_set


def run(peers, set_names, data_root, limits, progress=None, turn=0):
    """{set name: {engine name: SetTally}}, every engine reading the same images in turn.

    ``turn``: every image is sent turned this many degrees counter-clockwise.
    """
    default, per_set = limits
    results = {}
    for set_name in set_names:
        tallies = {peer.name: SetTally() for peer in peers}
        for index, sample in enumerate(dev_sets.load(set_name, data_root, per_set.get(set_name, default))):
            if turn:
                sample = dev_sets.turned(sample, turn)
            for peer in peers:
                predictions = peer.read(sample.image, sample.language)
                tallies[peer.name].add(score_image(predictions, sample.truth, sample.whole_image), peer.seconds,
                                       sample.name)
            if progress:
                progress(f"{set_name} {index + 1} {sample.name}")
        results[set_name] = tallies
    return results


def format_table(results):
    """One Markdown table: a row per set and engine; the best CER of each set in bold."""
    rows = [
        "| set | images | engine | CER | edits / characters | boxes read | read nothing | nothing, peer read "
        "| s/image (median) |",
        "|" + " --- |" * 9,
    ]
    for set_name, tallies in results.items():
        best = min(t.cer for t in tallies.values())
        service = tallies.get(SERVICE)
        peers = [t for name, t in tallies.items() if name != SERVICE]
        for name, tally in tallies.items():
            cer = f"{tally.cer:.3f}"
            if len(tallies) > 1 and tally.cer == best:
                cer = f"**{cer}**"
            against = str(len(empty_where_peer_reads(service, peers))) if tally is service and peers else "-"
            rows.append(
                f"| {set_name} | {len(tally.seconds)} | {name} | {cer} | {tally.edits} / {tally.characters} "
                f"| {tally.read_share:.1%} | {tally.empty} "
                f"| {against} | {tally.median_seconds:.2f} |"
            )
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(dev_sets.SETS), help="comma-separated: " + ",".join(dev_sets.SETS))
    parser.add_argument("--engines", default=",".join(PEERS), help="comma-separated: " + ",".join(PEERS))
    parser.add_argument("--limit", help="at most N images per set; 'N,set=M' gives a set its own limit")
    parser.add_argument("--data-root", default=str(dev_sets.DATA_ROOT), help="folder holding the shared data sets")
    parser.add_argument("--cls", action="store_true", help="every engine with its orientation classifier on")
    parser.add_argument("--turn", type=int, choices=(0, 90, 180, 270), default=0,
                        help="send every image turned this many degrees counter-clockwise (implies --cls)")
    args = parser.parse_args(argv)
    args.cls = args.cls or bool(args.turn)
    try:
        set_names = dev_sets.parse_set_names(args.sets)
    except ValueError as error:
        parser.error(str(error))
    try:
        limits = parse_limits(args.limit)
    except ValueError as error:
        parser.error(str(error))
    peers = [open_peer(name.strip(), cls=args.cls) for name in args.engines.split(",") if name.strip()]
    load_before = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    started = time.perf_counter()
    try:
        results = run(peers, set_names, args.data_root, limits, lambda line: print(line, file=sys.stderr), args.turn)
    finally:
        for peer in peers:
            peer.close()
    limit = f"images per set: at most {args.limit}" if args.limit else "every image of each set"
    print(
        f"{limit}; {f'every image turned {args.turn} degrees counter-clockwise; ' if args.turn else ''}"
        f"classifiers {'on' if args.cls else 'off'} for every engine; "
        f"'nothing, peer read': this service read nothing where a peer read >= {PEER_READS_WORDS} words; "
        f"{time.perf_counter() - started:.0f} s in all, load average {load_before} at the start"
    )
    print(conditions(peers))
    print()
    print(format_table(results))
    for set_name, tallies in results.items():
        service = tallies.get(SERVICE)
        peers_of_set = [t for name, t in tallies.items() if name != SERVICE]
        if service and peers_of_set and empty_where_peer_reads(service, peers_of_set):
            print(f"{set_name}: this service read nothing, a peer read text: "
                  + ", ".join(empty_where_peer_reads(service, peers_of_set)))
    for peer in peers:
        if peer.errors:
            print(f"{peer.name}: {len(peer.errors)} images failed, first: {peer.errors[0]}")


if __name__ == "__main__":
    main()
