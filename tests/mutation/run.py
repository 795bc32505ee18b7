"""A small mutation check: hand-made mutations of the job ledgers, the lease, the draft reader and the GUI
translator, each applied alone in a temporary copy of the repository, against the tests that should catch it.

Not part of the default test run (pytest collects only test_*.py). Run it from anywhere:

    .venv/bin/python tests/mutation/run.py            # the working tree
    .venv/bin/python tests/mutation/run.py --ref HEAD  # a commit, via git archive
    .venv/bin/python tests/mutation/run.py -k lease    # only mutations whose file or name contains 'lease'

Each mutation is (file, what it breaks, old text, new text, tests). `old` must occur exactly once in the
file, so a mutation that no longer applies is reported as stale, never counted as killed. The tests run
with PYTHONPATH pointing at the copy (the copy's code wins over the editable install) and without
bytecode caches (a restored file could otherwise reuse a mutant's .pyc). Prints KILLED/SURVIVED per
mutation, the kill rate, and exits 1 when a mutant survives.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = "server/nemo_video_mcp"

RENDERS = (
    "tests/unit/test_service.py",
    "tests/unit/test_render_bad_replies.py",
    "tests/unit/test_jobs.py",
    "tests/unit/test_keep_and_cancel.py",
    "tests/unit/test_ledger.py",
)
LEDGER = ("tests/unit/test_ledger.py", "tests/unit/test_jobs.py", "tests/unit/test_service.py")
LEASE = ("tests/unit/test_lease.py", "tests/unit/test_lease_times.py")
DRAFT = ("tests/unit/test_draft.py", "tests/unit/test_draft_edges.py")
GUI = ("tests/unit/test_gui.py", "tests/unit/test_gui_nouns.py")


@dataclass(frozen=True)
class Mutation:
    file: str
    breaks: str
    old: str
    new: str
    tests: tuple[str, ...]


def m(file: str, breaks: str, old: str, new: str, tests: tuple[str, ...]) -> Mutation:
    return Mutation(f"{PKG}/{file}", breaks, old, new, tests)


MUTATIONS: tuple[Mutation, ...] = (
    # --- render_jobs.py: the render ledger ---------------------------------------------------------
    m(
        "render_jobs.py",
        "an unfinished render of an earlier timeline is resumed",
        "            and job.draft_fingerprint == fingerprint\n            and job.status in",
        "            and job.status in",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "a job recorded but not yet started is not resumed",
        'job.status in ("starting", "pending", "processing")',
        'job.status in ("pending", "processing")',
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "a finished render without a URL counts as the video",
        "            and job.draft_fingerprint == fingerprint\n            and job.url\n",
        "            and job.draft_fingerprint == fingerprint\n",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "a cancelled render counts as the finished video",
        '            and job.status == "completed"\n',
        '            and job.status != "failed"\n',
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "the claim takes no lock",
        "return await self._store.run_locked(check_and_record)",
        "return check_and_record()",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "the claim does not look for another process's job",
        "            if existing is not None:\n                return existing, False\n",
        "",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "a reading without a URL forgets the URL already known",
        "url=status.url or job.url",
        "url=status.url",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "begin() does not write the job before the start request",
        "        await self.save(job)\n        return job\n",
        "        return job\n",
        RENDERS,
    ),
    m(
        "render_jobs.py",
        "forget() keeps the job",
        "await self._store.run_locked(lambda: self._remove_unlocked(job_id))",
        "return None",
        RENDERS,
    ),
    # --- render_job.py: claiming, starting and following a render ----------------------------------
    m("render_job.py", "one failed poll ends following", "MAX_FAILED_POLLS = 5", "MAX_FAILED_POLLS = 1", RENDERS),
    m("render_job.py", "failed polls never end following", "MAX_FAILED_POLLS = 5", "MAX_FAILED_POLLS = 50", RENDERS),
    m(
        "render_job.py",
        "a start whose answer was lost is forgotten (paid twice)",
        "            except (BackendUnavailableError, BadResponseError):\n                raise  #",
        "            except ZeroDivisionError:\n                raise  #",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a refused start is kept (the next export resumes a render that never began)",
        "                await self._ledger.forget(job.job_id)  # refused outright",
        "                pass  # refused outright",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a render id the backend calls taken stays in the ledger",
        "                await self._ledger.forget(job.job_id)\n                if attempt:",
        "                if attempt:",
        RENDERS,
    ),
    m(
        "render_job.py",
        "the finished render of this timeline is not reused (pays again)",
        "        if done is not None:  # exporting",
        "        if False:  # exporting",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a job another process claimed is started again here",
        "        if not is_new:  # another server",
        "        if False:  # another server",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a resumed job is reported as new",
        '            await reporter.progress(existing.progress, 100, f"Resuming render {existing.job_id}")\n'
        "            return existing, True, False",
        '            await reporter.progress(existing.progress, 100, f"Resuming render {existing.job_id}")\n'
        "            return existing, False, False",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a job the backend lost twice is restarted forever",
        "                if restarted:\n",
        "                if False:\n",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a lost job is restarted although the timeline changed since",
        "        if job.draft_fingerprint and draft_fingerprint(state.draft) != job.draft_fingerprint:",
        "        if False:",
        RENDERS,
    ),
    m(
        "render_job.py",
        "unreadable replies are never counted up",
        "                unreadable += 1",
        "                unreadable = 1",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a good reading does not reset the unreachable count",
        "            unreachable = unreadable = 0\n            job =",
        "            unreadable = 0\n            job =",
        RENDERS,
    ),
    m(
        "render_job.py",
        "giving up on unreadable replies leaves the job running",
        "        await self._ledger.record(\n            job, RenderStatus(",
        "        (\n            job, RenderStatus(",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a finished cloud render is not downloaded to be checked",
        'if job.status != "completed" or job.file_path:',
        'if job.status != "completed" or job.file_path or job.url:',
        (*RENDERS, "tests/unit/test_render_check.py"),
    ),
    m(
        "render_job.py",
        "following stops after the first poll",
        "if not first and time.monotonic() > deadline:",
        "if not first and time.monotonic() < deadline:",
        RENDERS,
    ),
    m(
        "render_job.py",
        "a reading taken once is not recorded",
        "            return job  # following it (next) restarts a lost job or keeps trying\n"
        "        return await self._ledger.record(job, status)",
        "            return job  # following it (next) restarts a lost job or keeps trying\n        return job",
        RENDERS,
    ),
    # --- ledger.py: the jobs document --------------------------------------------------------------
    m(
        "ledger.py",
        "one job more than KEEP is kept",
        "if len(jobs) > self._keep:",
        "if len(jobs) > self._keep + 1:",
        LEDGER,
    ),
    m(
        "ledger.py",
        "a running job can be dropped",
        "droppable = [key for key, raw in jobs.items() if self._ended_or_unreadable(raw)]",
        "droppable = list(jobs)",
        LEDGER,
    ),
    m(
        "ledger.py",
        "the newest finished jobs are dropped first",
        "sorted(droppable, key=lambda key: _updated_at(jobs[key]))",
        "sorted(droppable, key=lambda key: _updated_at(jobs[key]), reverse=True)",
        LEDGER,
    ),
    m(
        "ledger.py",
        "finished_at moves on every later stamp",
        "if updated.finished and updated.finished_at is None:",
        "if updated.finished:",
        LEDGER,
    ),
    m(
        "ledger.py",
        "a running job can be marked delivered",
        "if job is not None and job.finished and not job.delivered:",
        "if job is not None and not job.delivered:",
        LEDGER,
    ),
    m(
        "ledger.py",
        "an unreadable job crashes the ledger",
        "        except ValueError:\n            return None",
        "        except KeyError:\n            return None",
        LEDGER,
    ),
    m(
        "ledger.py",
        "the latest job is the oldest",
        "return max((job for job in self.all() if job.backend == backend)",
        "return min((job for job in self.all() if job.backend == backend)",
        LEDGER,
    ),
    # --- lease.py: who owns a job ------------------------------------------------------------------
    m(
        "lease.py",
        "a reused pid passes for the owner",
        "return self.started is None or now == self.started",
        "return True",
        LEASE,
    ),
    m("lease.py", "a zombie counts as alive", 'if not fields or fields[0] == "Z":', "if not fields:", LEASE),
    m(
        "lease.py",
        "the wrong /proc field is the start time",
        "return fields[19] if len(fields) > 19",
        "return fields[18] if len(fields) > 19",
        LEASE,
    ),
    m(
        "lease.py",
        "a tag without a start time keeps 'x' as one",
        'started=None if started in ("", "x") else started',
        "started=started or None",
        LEASE,
    ),
    # --- draft.py: reading the timeline ------------------------------------------------------------
    m("draft.py", "a title track shows as a plain track", '7: "Title"', '7: "Track"', DRAFT),
    m(
        "draft.py",
        "a volume of 1 reads as 1 %",
        "value * 100 if value <= 1 else value",
        "value * 100 if value < 1 else value",
        DRAFT,
    ),
    m(
        "draft.py",
        "a timeline with one empty track is not exportable",
        "return any(track.segments for track in read_draft(draft).tracks)",
        "return all(track.segments for track in read_draft(draft).tracks)",
        DRAFT,
    ),
    m(
        "draft.py",
        "the fingerprint depends on key order",
        "json.dumps(draft, sort_keys=True,",
        "json.dumps(draft, sort_keys=False,",
        DRAFT,
    ),
    m(
        "draft.py",
        "seconds lose their second decimal",
        'return f"{seconds:.2f}".rstrip',
        'return f"{seconds:.1f}".rstrip',
        DRAFT,
    ),
    m(
        "draft_view.py",
        "NaN and infinity count as numbers",
        "return number if math.isfinite(number) else None",
        "return number",
        DRAFT,
    ),
    m(
        "draft.py",
        "a changed duration goes unreported",
        "duration_changed = old_duration != new_duration",
        "duration_changed = False",
        DRAFT,
    ),
    # --- gui.py: GUI phrases become tool calls -----------------------------------------------------
    m(
        "gui.py",
        "a repeated action is listed twice",
        "            if key not in seen:\n",
        "            if True:\n",
        GUI,
    ),
    m("gui.py", "'the click' counts as a verb", r"(?<!\ba\s)(?<!\ban\s)(?<!\bthe\s)", r"(?<!\ba\s)(?<!\ban\s)", GUI),
    m(
        "gui.py",
        "a clause at a sentence start keeps its small letter",
        "        clause = clause[0].upper() + clause[1:]",
        "        pass",
        GUI,
    ),
    m("gui.py", "the Chinese clause names no call", 'else f"调用 {action.tool}"', 'else f"{action.tool}"', GUI),
)


def copy_tree(ref: str | None, into: Path) -> None:
    if ref:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
        return
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
    shutil.copytree(ROOT, into, ignore=ignore, dirs_exist_ok=True)


def run_tests(copy: Path, tests: tuple[str, ...], timeout_s: float) -> tuple[bool, str]:
    """(passed, first failing test or reason)."""
    env = {**os.environ, "PYTHONPATH": f"{copy / 'server'}{os.pathsep}{copy}", "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout_s:.0f} s"
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    return done.returncode == 0, failed.group(1) if failed else done.stdout.strip().splitlines()[-1:][
        0
    ] if done.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="mutate this commit (git archive) instead of the working tree")
    parser.add_argument("-k", dest="only", help="only mutations whose file or description contains this")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test run")
    args = parser.parse_args()
    chosen = [mu for mu in MUTATIONS if not args.only or args.only in mu.file or args.only in mu.breaks]
    with tempfile.TemporaryDirectory(prefix="nemo-mutation-") as tmp:
        copy = Path(tmp)
        copy_tree(args.ref, copy)
        groups = sorted({tuple(t for t in mu.tests if (copy / t).exists()) for mu in chosen})
        for tests in groups:  # a failing baseline would make every mutant look killed
            passed, why = run_tests(copy, tests, args.timeout)
            if not passed:
                print(f"baseline fails ({why}) for {' '.join(tests)}: fix that first", file=sys.stderr)
                return 2
        killed = survived = stale = 0
        for mutation in chosen:
            path = copy / mutation.file
            original = path.read_text(encoding="utf-8")
            count = original.count(mutation.old)
            if count != 1:
                stale += 1
                print(f"STALE     {mutation.file}: {mutation.breaks} (old text found {count} times)")
                continue
            path.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
            started = time.monotonic()
            try:
                tests = tuple(t for t in mutation.tests if (copy / t).exists())
                passed, why = run_tests(copy, tests, args.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            took = time.monotonic() - started
            if passed:
                survived += 1
                print(f"SURVIVED  {mutation.file}: {mutation.breaks} ({took:.0f} s)", flush=True)
            else:
                killed += 1
                print(f"KILLED    {mutation.file}: {mutation.breaks} — {why} ({took:.0f} s)", flush=True)
    total = killed + survived
    rate = f"{100 * killed / total:.0f} %" if total else "n/a"
    print(f"\nkill rate: {killed}/{total} = {rate}" + (f"; {stale} stale" if stale else ""))
    return 0 if survived == 0 and stale == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
