#!/usr/bin/env python3
"""Exact token counters side by side: tokenaudit (a whole `audit FILE -j 1 -q` process)
against the fast exact BPE libraries on PyPI (gigatoken, fastokens) and tiktoken, on one
pinned CPU, offline, on the benchmark corpus's English part and its non-Latin part.

Run through scripts/bench-peers, which makes the virtual environment (pinned versions) and
builds the release binary. This file is the measurement; `--help` lists its options.

What is measured
----------------
Parts (built once under target/bench-peers/ from bench-corpus/, see `build_parts`):
  english    bench-corpus/licenses/ (SPDX licence texts: formal English prose)
  nonlatin   bench-corpus/handbook/{ar-MA,fa-IR,zh-CN,zh-TW,ja-JP,ko-KR,ru-RU,el-GR,vi-VN}/
             (the Debian handbook in the corpus's nine non-Latin-script languages)
  Each is its files' text in path order (a leading BOM dropped per file), repeated
  --copies times (default 1: every pass is over text the process has not seen).

Peers, each in a fresh process per (library, mode, round), pinned with taskset:
  load (local rank file -> tokenizer), a tiny first call, `cold` (first pass over the
  text), `warm` (a second pass: caches full). Modes: `whole` (the part as one string)
  and `docs` (the part cut at line ends into ~4 KB documents, each library's batch call
  on one thread). Text is decoded before the clock starts.
tokenaudit engine (with --engine-speed, which scripts/bench-peers passes): the counting
  engine alone in-process on text in memory, as the peers are (examples/engine_speed with
  TOKENAUDIT_ENGINE_JSON): cold = a fresh counter's first pass, warm = its second.
tokenaudit: `tokenaudit audit PART -t ENC -j 1 -q --parse text` as a whole process
  (start-up, reading, counting), wall clock from spawn to exit. cold = bytes / time of
  one run; warm = bytes / (time on the part twice over - time on the part once): the
  cost of a second pass in the same process.
Rounds alternate every measurement (round-robin), so drift hits all alike; medians.
Two tables: MB/s by wall clock, and MB per CPU-second (the pass's user + system time:
in-process for the peers, the whole process's for tokenaudit). On a machine that other
work shares, the wall clock includes waiting for the CPU and the CPU table is the steadier.

Counts: every library's whole-text count must equal tokenaudit's count of the file (and
tiktoken's encode_ordinary), its documents' total tiktoken's; a library that differs is
listed as INEXACT with both counts and not timed.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENCODINGS = ("o200k_base", "cl100k_base")
PEERS = ("gigatoken", "fastokens", "tiktoken")
# The sha256 of OpenAI's published rank files, as tiktoken_ext/openai_public.py pins them.
RANK_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
NON_LATIN = ("ar-MA", "fa-IR", "zh-CN", "zh-TW", "ja-JP", "ko-KR", "ru-RU", "el-GR", "vi-VN")
PARTS = {
    "english": ["licenses"],
    "nonlatin": [os.path.join("handbook", lang) for lang in NON_LATIN],
}


def fail(msg):
    sys.exit(f"bench-peers: {msg}")


# ------------------------------------------------------------------ inputs

def build_parts(corpus, out_dir, copies):
    """Writes each part (and the part twice over, for tokenaudit's warm figure) and returns
    {part: (path, path_twice, bytes)}."""
    os.makedirs(out_dir, exist_ok=True)
    parts = {}
    for part, folders in PARTS.items():
        chunks = []
        for folder in folders:
            top = os.path.join(corpus, folder)
            if not os.path.isdir(top):
                fail(f"{top} is missing: run scripts/fetch-bench-corpus")
            files = []
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames.sort()
                files += [os.path.join(dirpath, f) for f in sorted(filenames)]
            for f in files:
                with open(f, "rb") as fh:
                    data = fh.read()
                data = data.removeprefix(b"\xef\xbb\xbf")
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as e:
                    fail(f"{f} is not UTF-8 ({e}); the parts must be text every library reads alike")
                chunks.append(data)
        text = b"".join(chunks) * copies
        path = os.path.join(out_dir, f"{part}-x{copies}.txt")
        twice = os.path.join(out_dir, f"{part}-x{copies}-twice.txt")
        for p, body in ((path, text), (twice, text + text)):
            if not (os.path.exists(p) and os.path.getsize(p) == len(body)):
                with open(p + ".tmp", "wb") as fh:
                    fh.write(body)
                os.replace(p + ".tmp", p)
        parts[part] = (path, twice, len(text))
    return parts


def rank_file(enc):
    """The published rank file, from the tokenizer directory or the tiktoken-rs crate's
    assets in cargo's registry (present after any build of tokenaudit); sha256-checked."""
    import glob
    tokdir = os.environ.get("TOKENAUDIT_TOKENIZER_DIR") or os.path.expanduser("~/.cache/tokenaudit/tokenizers")
    candidates = [os.path.join(tokdir, enc + ".tiktoken")]
    cargo = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    candidates += sorted(glob.glob(os.path.join(cargo, "registry/src/*/tiktoken-rs-*/assets", enc + ".tiktoken")))
    for c in candidates:
        if os.path.exists(c):
            with open(c, "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != RANK_SHA256[enc]:
                    fail(f"{c} is not OpenAI's {enc} rank file (sha256 differs)")
            return c
    fail(f"no {enc}.tiktoken in {tokdir} nor in the tiktoken-rs crate under {cargo}/registry/src")


def split_docs(text, size):
    """Consecutive whole lines until a document reaches `size` bytes of UTF-8."""
    docs, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line.encode("utf-8"))
        if n >= size:
            docs.append("".join(cur))
            cur, n = [], 0
    if cur:
        docs.append("".join(cur))
    return docs


# ------------------------------------------------------------------ peers
# Each peer: load(enc, rank_path) -> tokenizer; whole(tok, str) -> count;
# docs(tok, [str]) -> total count, with the library's one-thread batch call.

def split_pattern(enc):
    """The official split regex (tiktoken_ext.openai_public), without reading ranks."""
    import tiktoken_ext.openai_public as op
    saved = op.load_tiktoken_bpe
    op.load_tiktoken_bpe = lambda *a, **k: {}
    try:
        return op.ENCODING_CONSTRUCTORS[enc]()["pat_str"]
    finally:
        op.load_tiktoken_bpe = saved


def load_tiktoken(enc, path):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    # A local path is read directly; an empty TIKTOKEN_CACHE_DIR turns its cache off.
    return tiktoken.Encoding(enc, pat_str=split_pattern(enc), mergeable_ranks=load_tiktoken_bpe(path),
                             special_tokens={})


def load_gigatoken(enc, path):
    import gigatoken
    # gigatoken runs its own pre-tokenizer for the named scheme; with no special tokens
    # registered, "<|endoftext|>" is ordinary text, as in encode_ordinary.
    return gigatoken.Tokenizer.from_tiktoken(path, pretokenizer={"o200k_base": "o200k", "cl100k_base": "gpt4"}[enc],
                                             special_tokens={})


def load_fastokens(enc, path):
    import fastokens
    return fastokens.Tokenizer.from_tiktoken(path, pattern=split_pattern(enc), special_tokens={})


PEER = {
    "tiktoken": dict(load=load_tiktoken,
                     whole=lambda t, s: len(t.encode_ordinary(s)),
                     docs=lambda t, ds: sum(len(t.encode_ordinary(d)) for d in ds)),
    "gigatoken": dict(load=load_gigatoken,
                      whole=lambda t, s: len(t.encode(s)),
                      docs=lambda t, ds: len(t.encode_batch(ds, parallel=False).layout.content)),
    "fastokens": dict(load=load_fastokens,
                      whole=lambda t, s: len(t.encode_ordinary(s)),
                      docs=lambda t, ds: len(t.encode_batch_flat(ds)[0]) // 4),
}


def version(lib):
    from importlib.metadata import version as v
    return v(lib)


def worker(lib, enc, path, mode, doc_bytes, ranks):
    """One fresh process: prints {load_s, cold_s, warm_s, count} as JSON."""
    import gc
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    data = split_docs(text, doc_bytes) if mode == "docs" else text
    spec = PEER[lib]
    count = spec[mode]
    gc.collect()
    gc.disable()
    t = time.perf_counter()
    tok = spec["load"](enc, ranks)
    out = {"load_s": time.perf_counter() - t}
    count(tok, ["hello world"] if mode == "docs" else "hello world")
    for phase in ("cold", "warm"):
        t, c = time.perf_counter(), time.process_time()
        out["count"] = count(tok, data)
        out[phase + "_s"] = time.perf_counter() - t
        out[phase + "_cpu"] = time.process_time() - c
    print(json.dumps(out))


# ------------------------------------------------------------------ runs

def pinned(cpu, cmd):
    return ["taskset", "-c", str(cpu)] + cmd


def run_peer(args, lib, enc, path, mode):
    cmd = pinned(args.cpu, [sys.executable, os.path.abspath(__file__), "_worker", lib, enc, path, mode,
                            "--doc-bytes", str(args.doc_bytes), "--ranks", rank_file(enc)])
    r = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}"}


def run_tokenaudit(args, enc, path, report=None, binary=None):
    cmd = [binary or args.tokenaudit, "audit", path, "-t", enc, "-j", "1", "-q", "--parse", "text"]
    if report:
        cmd += ["--json", report]
    t = time.perf_counter()
    p = subprocess.Popen(pinned(args.cpu, cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if status != 0:
        fail(f"{' '.join(cmd)} failed ({status}): {err.strip()[-300:]}")
    return secs, usage.ru_utime + usage.ru_stime


def run_engine(args, enc, path):
    """tokenaudit's engine in-process, as the peers are timed (examples/engine_speed):
    {count, cold_s, cold_cpu, warm_s, warm_cpu}."""
    env = dict(os.environ, TOKENAUDIT_PROFILE=enc, TOKENAUDIT_REPS="1", TOKENAUDIT_ENGINE_JSON="1")
    r = subprocess.run(pinned(args.cpu, [args.engine_speed, path]), capture_output=True, text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith("engine-json "):
            return json.loads(line.removeprefix("engine-json "))
    fail(f"{args.engine_speed} gave no figures (exit {r.returncode}): {r.stderr.strip()[-300:]}")


def tokenaudit_count(args, enc, path):
    report = os.path.join(args.out, "report.json")
    run_tokenaudit(args, enc, path, report)
    with open(report) as fh:
        totals = json.load(fh)["totals"]
    if totals["files_counted"] != 1:
        fail(f"tokenaudit did not count {path}: {totals}")
    return totals["tokens"][enc]


def measure(args, enc, part, path, twice, nbytes):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    ref = load_tiktoken(enc, rank_file(enc))
    expect = {"whole": len(ref.encode_ordinary(text)),
              "docs": sum(len(ref.encode_ordinary(d)) for d in split_docs(text, args.doc_bytes))}
    del ref, text
    ours = tokenaudit_count(args, enc, path)
    if ours != expect["whole"]:
        fail(f"MISMATCH: tokenaudit counts {ours} tokens in {path} with {enc}, tiktoken {expect['whole']}")
    libs = [l for l in args.libs if l != "tokenaudit"]
    runs = {lib: {"whole": [], "docs": []} for lib in libs}
    ta = {"once": [], "twice": [], "once_cpu": [], "twice_cpu": []}
    base = {"once": [], "twice": [], "once_cpu": [], "twice_cpu": []}
    engine = []
    inexact = {}
    for _ in range(args.rounds):
        wall, cpu = run_tokenaudit(args, enc, path)
        ta["once"].append(wall)
        ta["once_cpu"].append(cpu)
        if args.engine_speed:
            e = run_engine(args, enc, path)
            if e["count"] != ours:
                fail(f"MISMATCH: the engine counts {e['count']} tokens in {path}, the audit {ours}")
            engine.append(e)
        if args.baseline:
            for name, p in (("once", path), ("twice", twice)):
                wall, cpu = run_tokenaudit(args, enc, p, binary=args.baseline)
                base[name].append(wall)
                base[name + "_cpu"].append(cpu)
        for lib in libs:
            for mode in ("whole", "docs"):
                if lib in inexact:
                    continue
                r = run_peer(args, lib, enc, path, mode)
                if "error" in r:
                    inexact[lib] = f"failed ({mode}): {r['error']}"
                elif r["count"] != expect[mode]:
                    inexact[lib] = (f"INEXACT ({mode}: {r['count']} tokens, tiktoken {expect[mode]}"
                                    f"{', tokenaudit ' + str(ours) if mode == 'whole' else ''}); not timed")
                else:
                    runs[lib][mode].append(r)
        wall, cpu = run_tokenaudit(args, enc, twice)
        ta["twice"].append(wall)
        ta["twice_cpu"].append(cpu)
    mb = nbytes / 1e6
    med = statistics.median
    tables = {}
    for clock, suffix in (("wall", ""), ("cpu", "_cpu")):
        rows = {}
        for name, t in (("tokenaudit", ta), ("tokenaudit baseline", base)):
            if t["once"]:
                once, twice_s = med(t["once" + suffix]), med(t["twice" + suffix])
                rows[name] = {"cold": mb / once,
                              "warm": mb / (twice_s - once) if twice_s > once else float("nan")}
        if engine:
            key = "_cpu" if suffix else "_s"
            rows["tokenaudit engine"] = {"cold": mb / med(e["cold" + key] for e in engine),
                                         "warm": mb / med(e["warm" + key] for e in engine)}
        for lib in libs:
            if lib in inexact:
                rows[lib] = {"error": inexact[lib]}
                continue
            w, d = runs[lib]["whole"], runs[lib]["docs"]
            rows[lib] = {"load_ms": 1e3 * med(r["load_s"] for r in w)}
            for mode, rs in (("whole", w), ("docs", d)):
                for phase in ("cold", "warm"):
                    rows[lib][f"{mode}_{phase}"] = mb / med(r[phase + ("_cpu" if suffix else "_s")] for r in rs)
        tables[clock] = rows
    return {"enc": enc, "part": part, "mb": mb, "tokens": ours, "doc_tokens": expect["docs"],
            "tokenaudit_s": ta, "baseline_s": base, "engine": engine, "peer_runs": runs, "tables": tables}


def best_peer(rows, key):
    """The best exact peer's best mode for `key` (cold or warm): (MB/s, label)."""
    best = (0.0, "-")
    for lib, r in rows.items():
        if lib.startswith("tokenaudit") or lib == "tiktoken" or "error" in r:
            continue
        for mode in ("whole", "docs"):
            v = r[f"{mode}_{key}"]
            if v > best[0]:
                best = (v, f"{lib} {mode}")
    return best


def report(results, args, clock):
    unit = {"wall": "MB/s (wall clock)", "cpu": "MB per CPU-second (user + system time of the pass)"}[clock]
    print(f"\n{unit}; MB = 10^6 bytes of UTF-8; one CPU (taskset -c {args.cpu}), median of {args.rounds} "
          f"alternating rounds; peers timed in-process on decoded text, tokenaudit as a whole process.")
    print(f"{'part':<9} {'encoding':<12} {'MB':>6} {'tokens':>10}  {'library':<18} {'load ms':>8} "
          f"{'whole cold':>10} {'warm':>7} {'docs cold':>10} {'warm':>7}")
    for res in results:
        rows = res["tables"][clock]
        head = f"{res['part']:<9} {res['enc']:<12} {res['mb']:>6.1f} {res['tokens']:>10}"
        ta = rows["tokenaudit"]
        print(f"{head}  {'tokenaudit':<18} {'':>8} {ta['cold']:>10.1f} {ta['warm']:>7.1f} {'':>10} {'':>7}")
        pad = " " * len(head)
        for lib, r in rows.items():
            if lib == "tokenaudit":
                continue
            if lib in ("tokenaudit baseline", "tokenaudit engine"):
                label = "(baseline)" if lib == "tokenaudit baseline" else "(engine in-process)"
                print(f"{pad}  {label:<18} {'':>8} {r['cold']:>10.1f} {r['warm']:>7.1f}")
                continue
            name = f"{lib} {version(lib)}"
            if "error" in r:
                print(f"{pad}  {name:<18} {r['error']}")
                continue
            print(f"{pad}  {name:<18} {r['load_ms']:>8.0f} {r['whole_cold']:>10.1f} {r['whole_warm']:>7.1f} "
                  f"{r['docs_cold']:>10.1f} {r['docs_warm']:>7.1f}")
        cold, cold_by = best_peer(rows, "cold")
        warm, warm_by = best_peer(rows, "warm")
        if cold:
            print(f"{pad}  tokenaudit / best exact peer: cold {ta['cold'] / cold:.2f}x ({cold_by}), "
                  f"warm {ta['warm'] / warm:.2f}x ({warm_by})")
    by = {(r["part"], r["enc"]): r["tables"][clock]["tokenaudit"]["cold"] for r in results}
    for enc in args.enc:
        if ("english", enc) in by and ("nonlatin", enc) in by:
            print(f"tokenaudit non-Latin / English, {enc}: {by[('nonlatin', enc)] / by[('english', enc)]:.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--enc", default=",".join(ENCODINGS), help="encodings (o200k_base,cl100k_base)")
    p.add_argument("--parts", default="english,nonlatin", help="parts (english,nonlatin)")
    p.add_argument("--libs", default=",".join(PEERS), help="peers (gigatoken,fastokens,tiktoken)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are printed (3)")
    p.add_argument("--copies", type=int, default=1, help="repeat each part N times (1)")
    p.add_argument("--doc-bytes", type=int, default=4096, help="document size for the batch mode (4096)")
    p.add_argument("--cpu", type=int, help="CPU to pin to (default: the last one allowed)")
    p.add_argument("--corpus", default=os.path.join(ROOT, "bench-corpus"))
    p.add_argument("--out", default=os.path.join(ROOT, "target", "bench-peers"))
    p.add_argument("--tokenaudit", default=os.path.join(ROOT, "target", "release", "tokenaudit"))
    p.add_argument("--engine-speed", help="examples/engine_speed binary: also time tokenaudit's engine in-process "
                                          "(cold: a fresh counter; warm: the same counter again), as the peers are")
    p.add_argument("--baseline", help="another tokenaudit binary, timed beside (e.g. main's, before a change)")
    p.add_argument("--json", help="also write every figure and raw timing here")
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        w = argparse.ArgumentParser()
        for a in ("cmd", "lib", "enc", "path", "mode"):
            w.add_argument(a)
        w.add_argument("--doc-bytes", type=int)
        w.add_argument("--ranks")
        a = w.parse_args()
        return worker(a.lib, a.enc, a.path, a.mode, a.doc_bytes, a.ranks)
    args = p.parse_args()
    args.enc = [e for e in args.enc.split(",") if e]
    args.libs = [l for l in args.libs.split(",") if l]
    for e in args.enc:
        if e not in ENCODINGS:
            p.error(f"unknown encoding {e!r} (known: {', '.join(ENCODINGS)})")
    for l in args.libs:
        if l not in PEER:
            p.error(f"unknown library {l!r} (known: {', '.join(PEER)})")
    if args.cpu is None:
        args.cpu = sorted(os.sched_getaffinity(0))[-1]
    if not os.access(args.tokenaudit, os.X_OK):
        fail(f"{args.tokenaudit} is not built: cargo build --release")
    # No network, no threads beyond one: the peers' thread knobs, tiktoken's cache off.
    os.environ.update({"RAYON_NUM_THREADS": "1", "FASTOKENS_BPE_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TIKTOKEN_CACHE_DIR": ""})
    for k in ("FASTOKENS_INPUT_CACHE", "FASTOKENS_SEGMENT_CACHE"):
        os.environ.pop(k, None)
    parts = build_parts(args.corpus, args.out, args.copies)
    with open("/proc/loadavg") as fh:
        load_before = fh.read().split()[:3]
    print(f"bench-peers: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {' '.join(load_before)}, "
          f"{args.tokenaudit}, peers {', '.join(f'{l} {version(l)}' for l in args.libs)}")
    results = []
    for part in [x for x in args.parts.split(",") if x]:
        if part not in parts:
            p.error(f"unknown part {part!r} (known: {', '.join(parts)})")
        path, twice, nbytes = parts[part]
        for enc in args.enc:
            print(f"  {part} ({nbytes / 1e6:.1f} MB), {enc} ...", file=sys.stderr, flush=True)
            results.append(measure(args, enc, part, path, twice, nbytes))
    with open("/proc/loadavg") as fh:
        print(f"load average after: {' '.join(fh.read().split()[:3])}")
    # On a shared machine, wall clock includes waiting for the CPU; CPU time does not.
    report(results, args, "wall")
    report(results, args, "cpu")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cpu": args.cpu, "rounds": args.rounds, "copies": args.copies, "results": results}, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
