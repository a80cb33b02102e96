#!/usr/bin/env python3
"""Runs a composite GitHub Action's steps (action.yml) as the runner does, for tests.

    run-action.py ACTION_DIR --workspace DIR [--input NAME=VALUE ...] [--outputs FILE]

What the runner does and this does too: inputs with their defaults, `${{ inputs.X }}`,
`${{ steps.ID.outputs.X }}` and `${{ github.action_path }}` substituted in `env`, `run` and
the action's `outputs`; each `shell: bash` step run as `bash --noprofile --norc -e -o
pipefail FILE` in the workspace, with GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
GITHUB_STEP_SUMMARY files read back after it; the first failing step ends the action
(exit 1), as steps without `if:` do. Any other expression, key or shell is refused, so the
action cannot use something this runner does not check.

Exit status: 0 when every step passed, 1 when a step failed, 2 when the action is not
one this runner can run. The action's outputs are written as JSON to --outputs.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_KEYS = {"name", "id", "shell", "env", "run"}


class Refused(Exception):
    pass


def substitute(text, inputs, steps, action_path):
    def one(match):
        expr = match.group(1)
        parts = expr.split(".")
        if len(parts) == 2 and parts[0] == "inputs":
            if parts[1] not in inputs:
                raise Refused(f"unknown input in ${{{{ {expr} }}}}")
            return inputs[parts[1]]
        if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs":
            return steps.get(parts[1], {}).get(parts[3], "")
        if expr == "github.action_path":
            return action_path
        raise Refused(f"unsupported expression ${{{{ {expr} }}}}")

    return EXPRESSION.sub(one, str(text))


def read_key_values(path):
    """GITHUB_OUTPUT / GITHUB_ENV: NAME=VALUE lines, or NAME<<DELIMITER ... DELIMITER."""
    values = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise Refused(f"malformed line in {path}: {line!r}")
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action_dir")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--outputs")
    args = parser.parse_args()

    action_path = os.path.abspath(args.action_dir)
    with open(os.path.join(action_path, "action.yml"), encoding="utf-8") as f:
        action = yaml.safe_load(f)
    if action.get("runs", {}).get("using") != "composite":
        raise Refused("not a composite action")

    declared = action.get("inputs") or {}
    given = dict(item.split("=", 1) for item in args.input)
    unknown = set(given) - set(declared)
    if unknown:
        raise Refused(f"inputs the action does not declare: {sorted(unknown)}")
    inputs = {}
    for name, spec in declared.items():
        if name in given:
            inputs[name] = given[name]
        elif spec.get("required") and "default" not in spec:
            raise Refused(f"required input {name} not given")
        else:
            inputs[name] = str(spec.get("default", ""))

    runner_temp = tempfile.mkdtemp(prefix="runner-")
    summary = os.environ.get("GITHUB_STEP_SUMMARY") or os.path.join(runner_temp, "summary.md")
    open(summary, "a").close()
    env = dict(os.environ)
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": action_path,
            "GITHUB_WORKSPACE": os.path.abspath(args.workspace),
            "GITHUB_STEP_SUMMARY": summary,
            "RUNNER_TEMP": runner_temp,
        }
    )
    env.setdefault("GITHUB_REPOSITORY", "example/app")
    steps = {}
    failed = False
    for index, step in enumerate(action["runs"]["steps"]):
        extra = set(step) - STEP_KEYS
        if extra:
            raise Refused(f"step {index} uses {sorted(extra)}, which this runner does not run")
        if step.get("shell") != "bash" or "run" not in step:
            raise Refused(f"step {index} is not a `shell: bash` run step")
        files = {}
        for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"):
            fd, files[name] = tempfile.mkstemp(prefix=name.lower() + "-", dir=runner_temp)
            os.close(fd)
        step_env = dict(env)
        step_env.update(files)
        for name, value in (step.get("env") or {}).items():
            step_env[name] = substitute(value, inputs, steps, action_path)
        script = os.path.join(runner_temp, f"step-{index}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(substitute(step["run"], inputs, steps, action_path))
        print(f"::group::{step.get('name', index)}", flush=True)
        status = subprocess.call(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", script],
            cwd=args.workspace,
            env=step_env,
        )
        print("::endgroup::", flush=True)
        if "id" in step:
            steps[step["id"]] = read_key_values(files["GITHUB_OUTPUT"])
        env.update(read_key_values(files["GITHUB_ENV"]))
        with open(files["GITHUB_PATH"], encoding="utf-8") as f:
            added = [line for line in f.read().splitlines() if line]
        if added:
            env["PATH"] = os.pathsep.join(list(reversed(added)) + [env["PATH"]])
        if status != 0:
            print(f"step {step.get('name', index)!r} failed with status {status}", flush=True)
            failed = True
            break

    outputs = {
        name: substitute(spec.get("value", ""), inputs, steps, action_path)
        for name, spec in (action.get("outputs") or {}).items()
    }
    if args.outputs:
        with open(args.outputs, "w", encoding="utf-8") as f:
            json.dump(outputs, f)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Refused as err:
        print(f"run-action: {err}", file=sys.stderr)
        sys.exit(2)
