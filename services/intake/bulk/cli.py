"""Upload a sheet of intakes from a terminal and follow its job.

    python -m intake.bulk.cli SHEET.csv [--url http://127.0.0.1:8081]

Shows a progress bar on stderr while the job runs, prints the counts, and saves the error
report next to the sheet (SHEET.csv.errors.csv) when some rows were refused. Exit status: 0 when
the job ran to the end (refused rows included: they are in the report), 1 when the job failed,
2 when the service could not be reached or refused the upload.
"""

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import TextIO

import httpx

EXIT_DONE, EXIT_JOB_FAILED, EXIT_TRANSPORT = 0, 1, 2
_UPLOAD_ATTEMPTS = 4
_POLL_FAILURES_TOLERATED = 10
_CONTENT_TYPES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class Refused(Exception):
    """The service answered, but not with a job."""


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
            raise Refused(f"upload refused ({response.status_code}): {_detail(response)}")
        return response.json()
    raise AssertionError("unreachable")


def follow(client: httpx.Client, job: dict, *, every: float, progress: ProgressBar) -> dict:
    failures = 0
    while True:
        try:
            response = client.get(job["status_url"])
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
    sheet: Path, *, url: str, every: float, out: TextIO, err: TextIO, transport: httpx.BaseTransport | None = None
) -> int:
    report = sheet.with_name(sheet.name + ".errors.csv")
    progress = ProgressBar(err)
    try:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(60.0, connect=10.0), transport=transport) as client:
            job = upload(client, sheet)
            print(f"job {job['job_id']} queued; following {url}{job['status_url']}", file=err)
            try:
                status = follow(client, job, every=every, progress=progress)
            finally:
                progress.close()
            report.unlink(missing_ok=True)  # a report from an earlier run would mislead
            if status["error_lines"]:
                save_error_report(client, status, report)
    except Refused as refused:
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
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return EXIT_TRANSPORT
    return run(args.file, url=args.url.rstrip("/"), every=args.poll, out=sys.stdout, err=sys.stderr)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]


if __name__ == "__main__":
    sys.exit(main())
