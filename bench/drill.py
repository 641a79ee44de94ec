"""`make drill` (python -m bench.drill): the quarterly recovery drill of docs/operations.md, timed
on this machine, step by step, as an operator would run it.

Each step is the documented command, run as its own `python cli/main.py ...` process against a
local environment of its own (a free loopback port, a state directory in a temporary folder, so
a `local up` already running is left alone): start with 4 demo and N synthetic clients, report
on all of them, back up, lose the environment (down and up again), restore, validate the
recovery. Writes bench/drill.json: the machine (CPU model, cores, memory, Python), each step's
command, wall time and exit code, restore plus validation against the 1-hour RTO.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lambdas import clock

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "drill.json"
RTO_SECONDS = 3600  # the users' runbook: critical systems, 1 hour


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(step: str, commands: list[list[str]], env: dict[str, str]) -> dict[str, Any]:
    """Run `commands` one after the other as one step; its wall time and the last exit code."""
    started = time.monotonic()
    code, tail = 0, ""
    for command in commands:
        done = subprocess.run(  # noqa: S603 - this interpreter and the repository's CLI
            [sys.executable, "cli/main.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        code = done.returncode
        tail = _summary(done.stdout, done.stderr)
        if code not in (0, 1) and command[:2] != ["local", "down"]:
            break
    seconds = round(time.monotonic() - started, 1)
    shown = " && ".join("python cli/main.py " + " ".join(c) for c in commands)
    print(f"{seconds:>8.1f} s  exit {code}  {shown}", flush=True)
    return {"step": step, "command": shown, "seconds": seconds, "exit_code": code, "said": tail}


def _summary(stdout: str, stderr: str) -> str:
    """What the command said last: its summary or findings line (stderr), else its last line of
    text (not a table's border)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = lines or [line.strip() for line in stdout.splitlines() if line.strip() and line.strip()[0].isalnum()]
    return lines[-1][:300] if lines else ""


def drill(extra_clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="drill-") as state:
        port = str(free_port())
        backup = str(Path(state) / "drill.tar.gz")
        env = {**os.environ, "COST_REPORTING_LOCAL_DIR": state}
        env.pop("AWS_ENDPOINT_URL", None)
        env.pop("COST_REPORTING_ENV", None)
        up = ["local", "up", "--extra-clients", str(extra_clients), "--port", port]
        steps = []
        try:
            steps.append(run("local up", [up], env))
            steps.append(run("report run --all", [["report", "run", "--all", "-e", "local"]], env))
            steps.append(run("backup create", [["backup", "create", "--output", backup, "-e", "local"]], env))
            steps.append(run("the environment is lost", [["local", "down"], up], env))
            steps.append(run("backup restore", [["backup", "restore", "--input", backup, "-e", "local"]], env))
            validate = ["system", "validate-recovery", "--input", backup, "-e", "local"]
            steps.append(run("system validate-recovery", [validate], env))
        finally:
            subprocess.run(
                [sys.executable, "cli/main.py", "local", "down"], cwd=ROOT, env=env, capture_output=True, check=False
            )
    recovery = sum(s["seconds"] for s in steps if s["step"] in ("backup restore", "system validate-recovery"))
    return {
        "generated_at": clock.now().isoformat(timespec="seconds"),
        "command": "make drill",
        "machine": machine(),
        "clients": 4 + extra_clients,
        "steps": steps,
        "restore_and_validation_seconds": round(recovery, 1),
        "rto_seconds": RTO_SECONDS,
        "ok": all(s["exit_code"] == 0 for s in steps),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__)
    parser.add_argument("--extra-clients", type=int, default=1000, help="synthetic clients (default: 1000)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the results")
    args = parser.parse_args(argv)
    result = drill(args.extra_clients)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {args.output}: restore and validation {result['restore_and_validation_seconds']} s, RTO 3600 s.")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
