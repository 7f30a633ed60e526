"""Upload a sheet of intakes from a terminal and follow its job.

    SONGTOR_TOKEN=<access token> python -m intake.bulk.cli SHEET.csv [--url http://127.0.0.1:8081]
    python -m intake.bulk.cli SHEET.csv --token-command "make -s token USER=clerk-6406"

The service takes a sheet only from an intake clerk, with an access token from the identity
provider: give it in SONGTOR_TOKEN (or --token, though other users of the machine can read a
command line), or give a command that prints one (--token-command, or SONGTOR_TOKEN_COMMAND):
tokens live minutes and a large sheet's job may take longer, so with a command the tool gets a
new token whenever the service says the one it has expired. The token is never printed.

Shows a progress bar on stderr while the job runs, prints the counts, and saves the error
report next to the sheet (SHEET.csv.errors.csv) when some rows were refused. Exit status: 0 when
the job ran to the end (refused rows included: they are in the report), 1 when the job failed,
2 when the service could not be reached or refused the upload.
"""

import argparse
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import TextIO

import httpx

EXIT_DONE, EXIT_JOB_FAILED, EXIT_TRANSPORT = 0, 1, 2
_UPLOAD_ATTEMPTS = 4
_POLL_FAILURES_TOLERATED = 10
_CONTENT_TYPES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


_TOKEN_COMMAND_SECONDS = 60
_SIGN_IN_HINT = "give an intake clerk's access token in SONGTOR_TOKEN, --token or --token-command"


class Refused(Exception):
    """The service answered, but not with a job."""


class NoToken(Exception):
    """The token command did not give a token; the message says why, never the token."""


class BearerToken(httpx.Auth):
    """Sends the access token. With a command, asks it for a token before the first request
    and again when the service answers 401 (the token expired while the job ran), then retries
    the request once (an upload's file is read again from its start)."""

    def __init__(self, *, token: str | None = None, command: str | None = None) -> None:
        self._token, self._command = (token or "").strip() or None, command

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None and self._command:
            self._token = self._from_command()
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 and self._command:
            self._token = self._from_command()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _from_command(self) -> str:
        try:
            done = subprocess.run(shlex.split(self._command or ""), capture_output=True, text=True,
                                  timeout=_TOKEN_COMMAND_SECONDS, check=False)
        except (OSError, ValueError, subprocess.TimeoutExpired) as error:
            raise NoToken(f"the token command could not run: {type(error).__name__}: {error}") from error
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            # Its error output only: what it printed on stdout may be a token.
            said = done.stderr.strip()[-500:] or "no output"
            raise NoToken(f"the token command gave no token (exit status {done.returncode}): {said}")
        return lines[-1]


class ProgressBar:
    """One line redrawn in place on a terminal; on a pipe or log file, a line every few seconds."""

    def __init__(self, stream: TextIO, *, width: int = 30, every: float = 5.0) -> None:
        self.stream, self.width, self.every = stream, width, every
        self.live = stream.isatty()
        self._last_text, self._last_at = "", 0.0

    def show(self, status: dict, *, final: bool = False) -> None:
        done, total = status.get("rows_done") or 0, status.get("sheet_rows")
        counts = f"accepted {status['accepted']:,} · refused {status['refused']:,}"
        if total:
            share = min(done / total, 1.0)
            filled = int(self.width * share)
            text = f"[{'#' * filled}{'-' * (self.width - filled)}] {share:4.0%}  row {done:,}/{total:,}  {counts}"
        else:
            text = f"[{status['state']}] {counts}"
        now = time.monotonic()
        if self.live:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
        elif text != self._last_text and (final or now - self._last_at >= self.every):
            self.stream.write(text + "\n")
            self._last_at = now
        else:
            return
        self._last_text = text
        self.stream.flush()

    def close(self) -> None:
        if self.live and self._last_text:
            self.stream.write("\n")
            self.stream.flush()


def upload(client: httpx.Client, sheet: Path) -> dict:
    """POST the sheet; a retry after a lost connection carries the same Idempotency-Key, so the
    service answers with the job the first attempt created instead of starting a second one."""
    key = f"cli-{uuid.uuid4()}"
    content_type = _CONTENT_TYPES.get(sheet.suffix.lower(), "application/octet-stream")
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        try:
            with sheet.open("rb") as file:  # streamed from disk by httpx, never read whole
                response = client.post("/v1/intakes/bulk", files={"file": (sheet.name, file, content_type)},
                                       headers={"Idempotency-Key": key})
        except httpx.TransportError:
            if attempt == _UPLOAD_ATTEMPTS:
                raise
            time.sleep(2 ** (attempt - 1))
            continue
        if response.status_code != 202:
            hint = f"; {_SIGN_IN_HINT}" if response.status_code == 401 else ""
            raise Refused(f"upload refused ({response.status_code}): {_detail(response)}{hint}")
        return response.json()
    raise AssertionError("unreachable")


def follow(client: httpx.Client, job: dict, *, every: float, progress: ProgressBar) -> dict:
    failures = 0
    while True:
        try:
            response = client.get(job["status_url"])
            if response.status_code == 401:
                raise Refused(f"the service no longer accepts the token ({_detail(response)}); the job carries on: "
                              f"follow it at {job['status_url']} with a new token, or use --token-command so this "
                              "tool can get one when it expires")
            response.raise_for_status()
        except httpx.TransportError:
            failures += 1
            if failures > _POLL_FAILURES_TOLERATED:
                raise
            time.sleep(every)
            continue
        failures = 0
        status = response.json()
        finished = status["state"] in ("done", "failed")
        progress.show(status, final=finished)
        if finished:
            return status
        time.sleep(every)


def save_error_report(client: httpx.Client, status: dict, target: Path) -> None:
    with client.stream("GET", status["errors_url"]) as response:
        response.raise_for_status()
        with target.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)


def run(
    sheet: Path, *, url: str, every: float, out: TextIO, err: TextIO, transport: httpx.BaseTransport | None = None,
    token: str | None = None, token_command: str | None = None,
) -> int:
    report = sheet.with_name(sheet.name + ".errors.csv")
    progress = ProgressBar(err)
    auth = BearerToken(token=token, command=token_command)
    try:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(60.0, connect=10.0), transport=transport,
                          auth=auth) as client:
            job = upload(client, sheet)
            print(f"job {job['job_id']} queued; following {url}{job['status_url']}", file=err)
            try:
                status = follow(client, job, every=every, progress=progress)
            finally:
                progress.close()
            report.unlink(missing_ok=True)  # a report from an earlier run would mislead
            if status["error_lines"]:
                save_error_report(client, status, report)
    except (Refused, NoToken) as refused:
        print(f"error: {refused}", file=err)
        return EXIT_TRANSPORT
    except httpx.HTTPError as error:
        print(f"error: talking to the intake service at {url} failed: {type(error).__name__}: {error}", file=err)
        return EXIT_TRANSPORT
    print(f"state: {status['state']}" + (f" in {status['duration_seconds']} s" if status["duration_seconds"] else ""),
          file=out)
    print(f"rows read: {status['rows_read']}  accepted: {status['accepted']}  refused: {status['refused']}  "
          f"error lines: {status['error_lines']}", file=out)
    for warning in status["warnings"]:
        print(f"warning: {warning}", file=out)
    if status["error_lines"]:
        print(f"error report: {report}", file=out)
    if status["state"] == "failed":
        print(f"job failed: {status['failure']}", file=out)
        return EXIT_JOB_FAILED
    return EXIT_DONE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m intake.bulk.cli",
        description="Upload a sheet of intakes (CSV UTF-8 or XLSX) and follow the job.",
    )
    parser.add_argument("file", type=Path, help="the sheet: .csv (UTF-8) or .xlsx")
    parser.add_argument("--url", default="http://127.0.0.1:8081", help="the intake service (default %(default)s)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks")
    parser.add_argument("--token", default=os.environ.get("SONGTOR_TOKEN"),
                        help="an intake clerk's access token (default: env SONGTOR_TOKEN, which other users "
                        "cannot read from the process list)")
    parser.add_argument("--token-command", default=os.environ.get("SONGTOR_TOKEN_COMMAND"),
                        help="a command that prints an access token, run again when the token expires "
                        "(default: env SONGTOR_TOKEN_COMMAND), e.g. \"make -s token USER=clerk-6406\"")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return EXIT_TRANSPORT
    if not args.token and not args.token_command:
        print(f"error: no access token: {_SIGN_IN_HINT}", file=sys.stderr)
        return EXIT_TRANSPORT
    return run(args.file, url=args.url.rstrip("/"), every=args.poll, out=sys.stdout, err=sys.stderr,
               token=args.token, token_command=args.token_command)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]


if __name__ == "__main__":
    sys.exit(main())
