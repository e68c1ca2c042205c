"""make downstream: real servers' harmony code against this package.

For each pinned server release: fetch its wheel (cached), extract its
Python files, install its light dependencies (cached), then run every
driven path (drivers/) over the corpus under three configurations, each in
its own process:

  ref  the reference wheel openai-harmony 0.0.8
  off  this package, default settings
  on   this package with OPENAI_HARMONY_PARSE=lenient

and judge: ``off`` must give exactly what ``ref`` gives (the same output,
or the same exception type and message); ``on`` must raise nothing (no
escaped exception, no error the server caught and reported) and give what
the same path gives under ``ref`` for the clean rendering of the case's
intended messages (under ``off`` for the cases where deviation 1 of
test-data/deviations.md applies, since the reference misreads the clean
rendering there); where that clean rendering itself fails under ``ref``
(the server's own policy rejects the intended messages), the ``on`` check
is n/a. Prints a table (also written to .downstream/last-table.md) and
exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import servers  # noqa: E402

PLATFORMS = [
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_31_x86_64",
    "manylinux_2_34_x86_64",
    "any",
]
CONFIGS = ("ref", "off", "on")


def log(msg: str) -> None:
    print(msg, flush=True)


def free_gb(path: str) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2**30


def fetch_wheel(pip_python: str, name: str, version: str, wheels: str) -> str:
    pattern = os.path.join(wheels, f"{name.replace('-', '_')}-{version}-*.whl")
    found = sorted(glob.glob(pattern))
    if found:
        return found[0]
    if free_gb(wheels) < 3:
        sys.exit(f"downstream: less than 3 GB free under {wheels}; a server wheel is up to 450 MB")
    log(f"== downloading the {name}=={version} wheel (once; cached in {wheels})")
    cmd = [pip_python, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--python-version", "3.11", "--implementation", "cp"]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    for abi in ("cp311", "abi3", "none"):
        cmd += ["--abi", abi]
    cmd += [f"{name}=={version}", "-d", wheels]
    subprocess.run(cmd, check=True)
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit(f"downstream: pip downloaded no wheel matching {pattern}")
    return found[0]


def extract(wheel: str, prefixes: tuple[str, ...], dest: str) -> None:
    marker = os.path.join(dest, ".extracted")
    if os.path.exists(marker) and open(marker).read() == os.path.basename(wheel):
        return
    log(f"== extracting the Python files of {os.path.basename(wheel)} into {dest}")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.endswith(".py") and n.startswith(prefixes):
                z.extract(n, dest)
    with open(marker, "w") as f:
        f.write(os.path.basename(wheel))


def install_deps(pip_python: str, deps: tuple[str, ...], dest: str) -> None:
    key = hashlib.sha256("\n".join(deps).encode()).hexdigest()[:16]
    marker = os.path.join(dest, ".installed")
    if os.path.exists(marker) and open(marker).read() == key:
        return
    log(f"== installing {len(deps)} light dependencies into {dest}")
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run([pip_python, "-m", "pip", "install", "-q", "--target", dest, *deps], check=True)
    with open(marker, "w") as f:
        f.write(key)


def link_package(python: str, dest: str, env: dict[str, str]) -> str:
    """dest/openai_harmony -> the package the interpreter imports. Workers
    run as ``python -S`` with only this folder and the server's
    dependencies on the path, so both sides see the same environment."""
    out = subprocess.run(
        [python, "-c", "import os, openai_harmony; print(os.path.dirname(openai_harmony.__file__))"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    os.makedirs(dest, exist_ok=True)
    link = os.path.join(dest, "openai_harmony")
    if os.path.islink(link) or os.path.exists(link):
        os.remove(link)
    os.symlink(out, link)
    return out


def run_worker(job: dict[str, Any]) -> tuple[str, str, dict[str, Any] | str, float]:
    t0 = time.time()
    cmd = [job["python"], "-S", os.path.join(HERE, "worker.py"), "--server", job["server"], "--src", job["src"]]
    cmd += ["--corpus", job["corpus"], "--out", job["out"]]
    if job["config"] in ("ref", "off"):
        cmd.append("--intended")
    try:
        p = subprocess.run(cmd, env=job["env"], capture_output=True, text=True, timeout=job["timeout"])
    except subprocess.TimeoutExpired:
        return job["server"], job["config"], f"worker timed out after {job['timeout']} s", time.time() - t0
    if p.returncode != 0 or not os.path.exists(job["out"]):
        return job["server"], job["config"], f"worker failed ({p.returncode}):\n{p.stderr[-4000:]}", time.time() - t0
    with open(job["out"]) as f:
        return job["server"], job["config"], json.load(f), time.time() - t0


def bad(result: Any) -> str | None:
    """Why a result counts as raising (an escaped exception, or an error the
    server caught and reported), or None."""
    if not isinstance(result, dict):
        return "no result"
    if "raised" in result:
        r = result["raised"]
        return f"raised {r['type']}: {r['message']}"
    if "harness_error" in result:
        return str(result["harness_error"])
    if result.get("error"):
        return f"error: {result['error']}"
    return None


def short(v: Any, n: int = 90) -> str:
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[: n - 1] + "…"


def diff(a: Any, b: Any, path: str = "") -> str:
    """Where two results first differ, briefly (got vs wanted)."""
    if isinstance(a, dict) and isinstance(b, dict) and "raised" not in a and "raised" not in b:
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return diff(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            extra = a[len(b) :] or b[len(a) :]
            return f"{path}: {len(a)} vs {len(b)} items ({short(extra)})"
    return f"{path + ': ' if path else ''}{short(a)} vs {short(b)}"


Row = tuple[str, int, int, int, int, int, int]


def deviation_1(case: dict[str, Any]) -> bool:
    """Whether deviation 1 of test-data/deviations.md applies to the case in
    strict mode: the reference reads a lone ``<|constrain|>…`` on the final
    channel as the recipient, we read it as the content type (the corpus
    records the reference's strict messages)."""
    messages = case.get("reference", {}).get("messages") or []
    return any(
        m.get("channel") == "final" and str(m.get("recipient", "")).startswith("<|constrain|>") for m in messages
    )


def judge(results: dict[str, dict[str, Any]], corpus: list[dict[str, Any]]) -> tuple[list[Row], list[str], list[str]]:
    """Per path: off=ref passes, on=intended passes, and on=intended checks
    that cannot be made: the path fails under ref even on the clean
    rendering of the intended messages (its own policy rejects them, e.g.
    vLLM 0.11's Responses API and a commentary message without recipient),
    so there is no intended output; then the failures and the n/a cases with
    their reasons."""
    table: list[Row] = []
    failures: list[str] = []
    not_applicable: list[str] = []
    cases = [c["name"] for c in corpus]
    documented = {c["name"] for c in corpus if deviation_1(c)}
    for server, by_config in results.items():
        ref = by_config["ref"]
        for row in ref:
            off_ok = off_dev = on_ok = on_na = 0
            for case in cases:
                r = ref[row].get(case, {})
                o = by_config["off"].get(row, {}).get(case, {}).get("completion")
                n = by_config["on"].get(row, {}).get(case, {}).get("completion")
                rc, ri = r.get("completion"), r.get("intended")
                if case in documented:
                    # The reference misreads the clean rendering itself (a
                    # lone <|constrain|>… on the final channel as the
                    # recipient): the intended output is the path's on the
                    # clean rendering with this package's default reading.
                    ri = by_config["off"].get(row, {}).get(case, {}).get("intended")
                where = f"{server} {row} / {case}"
                if o == rc:
                    off_ok += 1
                elif case in documented and bad(o) is None and bad(rc) is None:
                    # The documented strict-mode difference: not an error,
                    # a constrained final answer read as one.
                    off_dev += 1
                    not_applicable.append(f"{where}: off differs from ref by deviation 1 (documented): {diff(o, rc)}")
                else:
                    failures.append(f"{where}: off≠ref: {diff(o, rc)}")
                if (why := bad(ri)) is not None:
                    on_na += 1
                    got = bad(n) or "no error"
                    not_applicable.append(f"{where}: the clean rendering fails under ref ({why}); on: {got}")
                elif (why := bad(n)) is not None:
                    failures.append(f"{where}: on: {why}")
                elif n != ri:
                    failures.append(f"{where}: on≠intended: {diff(n, ri)}")
                else:
                    on_ok += 1
            table.append((f"{server} {row}", off_ok, off_dev, len(cases), on_ok, len(cases) - on_na, on_na))
    return table, failures, not_applicable


def render_table(table: list[Row], failures: list[str], not_applicable: list[str], header: str) -> str:
    width = max([len(r[0]) for r in table] + [len("server path")])
    lines = [
        header,
        "",
        f"| {'server path'.ljust(width)} | off=ref | off: deviation 1 | on=intended | n/a |",
        f"|{'-' * (width + 2)}|--------:|-----------------:|------------:|----:|",
    ]
    for name, a, dev, n, b, m, na in table:
        lines.append(
            f"| {name.ljust(width)} | {f'{a}/{n}'.rjust(7)} | {str(dev).rjust(16)} | {f'{b}/{m}'.rjust(11)}"
            f" | {str(na).rjust(3)} |"
        )
    lines.append("")
    lines.append(
        "off: deviation 1: cases where the default setting differs from the reference only by the documented"
        " deviation 1 (a lone <|constrain|>… on the final channel is the content type, not the recipient),"
        " with no error on either side. n/a: cases whose intended messages the path rejects even when rendered"
        " cleanly (under ref): there is no intended output to hold `on` to (what `on` gave is listed below)."
    )
    lines.append("")
    if failures:
        lines.append(f"{len(failures)} failed checks (got vs wanted):")
        lines.append("")
        lines += [f"- {f}" for f in failures]
    else:
        lines.append("All checks pass.")
    if not_applicable:
        lines.append("")
        lines.append(f"{len(not_applicable)} notes (deviation 1, n/a):")
        lines.append("")
        lines += [f"- {f}" for f in not_applicable]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(HERE))
    ap.add_argument("--corpus", default=os.path.join(root, "test-data", "parse", "corpus.json"))
    ap.add_argument("--server", action="append", required=True, help="name==version, e.g. vllm==0.11.0 (repeatable)")
    ap.add_argument("--ref-python", required=True, help="an interpreter with openai-harmony==0.0.8")
    ap.add_argument("--ours-python", required=True, help="an interpreter with this package installed")
    ap.add_argument("--vocab", required=True, help="TIKTOKEN_ENCODINGS_BASE for the reference wheel")
    ap.add_argument("--work", default=os.path.join(root, ".downstream"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=900, help="seconds per worker")
    ap.add_argument("--fetch-only", action="store_true", help="download, extract and install, run nothing")
    args = ap.parse_args()

    corpus = os.path.abspath(args.corpus)
    if not args.fetch_only and not os.path.exists(corpus):
        sys.exit(f"downstream: no corpus at {corpus} (--corpus PATH; CORPUS=... for make)")
    work = os.path.abspath(args.work)
    for d in ("wheels", "src", "deps", "harmony", "out"):
        os.makedirs(os.path.join(work, d), exist_ok=True)

    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPENAI_HARMONY_PARSE", "PYTHONHOME")}
    base_env["TIKTOKEN_ENCODINGS_BASE"] = os.path.abspath(args.vocab)

    plan: list[tuple[str, str]] = []
    for spec in args.server:
        name, _, version = spec.partition("==")
        key = f"{name}-{version}"
        if key not in servers.SERVERS:
            sys.exit(f"downstream: no entry for {key} in tests/downstream/servers.py (read its harmony paths first)")
        cfg = servers.SERVERS[key]
        wheel = fetch_wheel(args.ours_python, name, version, os.path.join(work, "wheels"))
        src = os.path.join(work, "src", key)
        extract(wheel, cfg.extract, src)
        deps = os.path.join(work, "deps", key)
        install_deps(args.ours_python, cfg.deps, deps)
        plan.append((key, src))
    if args.fetch_only:
        return 0

    with open(corpus) as f:
        corpus_cases: list[dict[str, Any]] = json.load(f)["cases"]
    cases = [c["name"] for c in corpus_cases]
    ref_pkg = link_package(args.ref_python, os.path.join(work, "harmony", "ref"), base_env)
    ours_pkg = link_package(args.ours_python, os.path.join(work, "harmony", "ours"), base_env)
    log(f"== ref: {ref_pkg}\n== off, on: {ours_pkg}")

    jobs: list[dict[str, Any]] = []
    for key, src in plan:
        deps = os.path.join(work, "deps", key)
        for config in CONFIGS:
            env = dict(base_env)
            side = "ref" if config == "ref" else "ours"
            env["PYTHONPATH"] = os.pathsep.join([os.path.join(work, "harmony", side), deps])
            if config == "on":
                env["OPENAI_HARMONY_PARSE"] = "lenient"
            out = os.path.join(work, "out", f"{key}.{config}.json")
            if os.path.exists(out):
                os.remove(out)
            jobs.append(
                {
                    "server": key,
                    "config": config,
                    "python": args.ref_python if config == "ref" else args.ours_python,
                    "src": src,
                    "corpus": corpus,
                    "out": out,
                    "env": env,
                    "timeout": args.timeout,
                }
            )

    log(f"== {len(cases)} cases x {len(plan)} servers x {len(CONFIGS)} configurations, {args.jobs} processes at a time")
    results: dict[str, dict[str, Any]] = {}
    broken: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for server, config, res, secs in pool.map(run_worker, jobs):
            log(f"   {server} {config}: {secs:.1f} s")
            if isinstance(res, str):
                broken.append(f"{server} {config}: {res}")
                continue
            results.setdefault(server, {})[config] = res
    if broken:
        print("\n".join(broken), file=sys.stderr)
        return 2

    table, failures, not_applicable = judge(results, corpus_cases)
    header = f"Downstream servers against this package ({os.path.relpath(corpus, root)}, {len(cases)} cases)"
    text = render_table(table, failures, not_applicable, header)
    print()
    print(text, end="")
    with open(os.path.join(work, "last-table.md"), "w") as f:
        f.write(text)
    print(f"(also in {os.path.relpath(os.path.join(work, 'last-table.md'), root)})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
