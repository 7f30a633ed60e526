"""The bulk intake CLI against a stand-in service: progress, counts, the saved report, exit codes,
and the access token it sends (never prints), renewed by a command when it expires mid-job."""

import io
import sys

import httpx
import pytest

from intake.bulk import cli

REPORT = "\ufeffrow,column,value,reason,reason_th\r\n4,national_id,123,too short,สั้นไป\r\n".encode()


TOKEN = "eyJ.token-of-clerk-6406.sig"


class FakeService:
    """Answers like the intake service: a job that runs for two polls, then ends as told. It
    takes the tokens in `valid` (401 otherwise, as the service does when a token expires)."""

    def __init__(self, *, final: dict, upload_failures: int = 0, upload_status: int = 202,
                 valid: tuple[str, ...] = (TOKEN,)) -> None:
        self.final, self.upload_failures, self.upload_status = final, upload_failures, upload_status
        self.valid = set(valid)
        self.keys: list[str] = []
        self.tokens: list[str] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.tokens.append(token)
        if token not in self.valid:
            return httpx.Response(401, json={"detail": "Token refused: the token has expired"})
        if request.method == "POST":
            self.keys.append(request.headers["idempotency-key"])
            assert b'name="file"; filename="sheet.csv"' in request.read()
            if self.upload_failures:
                self.upload_failures -= 1
                raise httpx.ConnectError("connection reset", request=request)
            if self.upload_status != 202:
                return httpx.Response(self.upload_status, json={"detail": "The sheet is larger than 64 MiB"})
            return httpx.Response(202, json={"job_id": "j-1", "status_url": "/v1/intake-jobs/j-1",
                                             "errors_url": "/v1/intake-jobs/j-1/errors.csv", "state": "queued"})
        if request.url.path.endswith("errors.csv"):
            return httpx.Response(200, content=REPORT)
        self.polls += 1
        running = {"state": "running", "sheet_rows": 11, "rows_done": 6, "accepted": 4, "refused": 1}
        return httpx.Response(200, json=self.final if self.polls > 2 else {**self.final, **running})


def job(state: str = "done", *, error_lines: int = 1, failure: str | None = None) -> dict:
    return {"job_id": "j-1", "state": state, "sheet_rows": 11, "rows_done": 11, "rows_read": 10, "accepted": 9,
            "refused": error_lines, "error_lines": error_lines, "warnings": ["Columns not used: remarks"],
            "failure": failure, "duration_seconds": 1.5, "errors_url": "/v1/intake-jobs/j-1/errors.csv"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(cli.time, "sleep", lambda _seconds: None)


def run(sheet, service: FakeService, *, token: str | None = TOKEN, token_command: str | None = None):  # noqa: ANN001, ANN201
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(sheet, url="http://intake", every=0, out=out, err=err, transport=httpx.MockTransport(service),
                   token=token, token_command=token_command)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("program,national_id\n", encoding="utf-8")
    return path


def test_a_job_with_refused_rows_ends_well_and_saves_the_report_next_to_the_sheet(sheet):
    code, out, err = run(sheet, FakeService(final=job()))
    assert code == cli.EXIT_DONE
    assert "rows read: 10  accepted: 9  refused: 1  error lines: 1" in out
    assert "warning: Columns not used: remarks" in out
    assert f"error report: {sheet}.errors.csv" in out
    assert (sheet.parent / "sheet.csv.errors.csv").read_bytes() == REPORT
    assert "row 11/11" in err and "100%" in err


def test_a_clean_job_removes_a_stale_report(sheet):
    stale = sheet.parent / "sheet.csv.errors.csv"
    stale.write_text("old")
    code, out, _err = run(sheet, FakeService(final=job(error_lines=0)))
    assert code == cli.EXIT_DONE and not stale.exists() and "error report" not in out


def test_a_failed_job_exits_1_with_its_reason(sheet):
    code, out, _err = run(sheet, FakeService(final=job("failed", error_lines=0, failure="Missing required columns")))
    assert code == cli.EXIT_JOB_FAILED
    assert "job failed: Missing required columns" in out


def test_a_refused_upload_exits_2_with_the_services_reason(sheet):
    code, _out, err = run(sheet, FakeService(final=job(), upload_status=413))
    assert code == cli.EXIT_TRANSPORT and "larger than 64 MiB" in err


def test_a_dropped_upload_is_retried_with_the_same_idempotency_key(sheet):
    service = FakeService(final=job(), upload_failures=2)
    code, _out, _err = run(sheet, service)
    assert code == cli.EXIT_DONE
    assert len(service.keys) == 3 and len(set(service.keys)) == 1


def test_an_unreachable_service_exits_2(sheet):
    code, _out, err = run(sheet, FakeService(final=job(), upload_failures=99))
    assert code == cli.EXIT_TRANSPORT and "ConnectError" in err


def test_a_missing_file_exits_2(tmp_path, capsys):
    assert cli.main([str(tmp_path / "nope.csv")]) == cli.EXIT_TRANSPORT
    assert "no such file" in capsys.readouterr().err


def test_the_progress_bar_redraws_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = cli.ProgressBar(stream, width=10)
    bar.show({"state": "running", "sheet_rows": 100, "rows_done": 50, "accepted": 40, "refused": 9})
    bar.show({"state": "done", "sheet_rows": 100, "rows_done": 100, "accepted": 90, "refused": 9}, final=True)
    bar.close()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("\n")
    assert "[#####-----]  50%" in stream.getvalue() and "[##########] 100%" in stream.getvalue()


def test_every_request_carries_the_token_and_none_is_printed(sheet):
    service = FakeService(final=job())
    code, out, err = run(sheet, service)
    assert code == cli.EXIT_DONE
    assert set(service.tokens) == {TOKEN} and len(service.tokens) >= 4, "upload, polls and the report"
    assert TOKEN not in out + err


def test_without_a_token_the_refused_upload_says_how_to_give_one(sheet):
    code, out, err = run(sheet, FakeService(final=job()), token=None)
    assert code == cli.EXIT_TRANSPORT
    assert "upload refused (401)" in err and "SONGTOR_TOKEN" in err and "--token-command" in err


def test_a_token_that_expires_while_following_says_the_job_carries_on(sheet):
    service = FakeService(final=job())
    original = service.__call__

    def expires_after_the_upload(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            service.valid.clear()
        return original(request)

    code, _out, err = run(sheet, expires_after_the_upload)
    assert code == cli.EXIT_TRANSPORT
    assert "no longer accepts the token" in err and "/v1/intake-jobs/j-1" in err and TOKEN not in err


def test_a_token_command_is_asked_again_when_the_token_expires(sheet, tmp_path):
    """The command prints the next token each time; the service takes only the newest."""
    counter = tmp_path / "count"
    script = tmp_path / "token.py"
    script.write_text(
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print('token', n)\n"  # two words: the last line is the token, as given
    )
    service = FakeService(final=job(), valid=("token 1",))
    original = service.__call__

    def rotates_after_the_upload(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and service.valid == {"token 1"}:
            service.valid = {"token 2"}  # the first one expired while the job ran
        return original(request)

    code, out, err = run(sheet, rotates_after_the_upload, token=None, token_command=f"{sys.executable} {script}")
    assert code == cli.EXIT_DONE, err
    assert counter.read_text() == "2", "asked once at the start and once when the service said 401"
    assert service.tokens[0] == "token 1" and service.tokens[-1] == "token 2"
    assert "token 1" not in out + err and "token 2" not in out + err


def test_a_failing_token_command_is_reported_without_its_output(sheet, tmp_path):
    script = tmp_path / "token.py"
    script.write_text("import sys\nprint('half-a-token')\nprint('Keycloak is down', file=sys.stderr)\nsys.exit(3)\n")
    code, _out, err = run(sheet, FakeService(final=job()), token=None, token_command=f"{sys.executable} {script}")
    assert code == cli.EXIT_TRANSPORT
    assert "exit status 3" in err and "Keycloak is down" in err and "half-a-token" not in err


def test_main_takes_the_token_from_the_environment_and_refuses_to_start_without_one(sheet, monkeypatch, capsys):
    monkeypatch.delenv("SONGTOR_TOKEN", raising=False)
    monkeypatch.delenv("SONGTOR_TOKEN_COMMAND", raising=False)
    assert cli.main([str(sheet)]) == cli.EXIT_TRANSPORT
    assert "no access token" in capsys.readouterr().err

    seen = {}
    monkeypatch.setattr(cli, "run", lambda *args, **kwargs: seen.update(kwargs) or cli.EXIT_DONE)
    monkeypatch.setenv("SONGTOR_TOKEN", TOKEN)
    assert cli.main([str(sheet), "--url", "http://intake/"]) == cli.EXIT_DONE
    assert (seen["token"], seen["url"]) == (TOKEN, "http://intake")
