"""A service whose HTTP port is taken exits before its lifespan starts anything (shared/service.py):
it must not start its consumers, read records and then stop."""

import socket
import subprocess
import sys
import textwrap

from tests.support.infrastructure import REPO

SERVICE = textwrap.dedent("""
    import contextlib, pathlib, sys
    from fastapi import FastAPI
    from shared.service import serve
    from shared.settings import ServiceSettings

    @contextlib.asynccontextmanager
    async def lifespan(app):
        pathlib.Path(sys.argv[2]).write_text("started")  # a service's lifespan starts its consumers first
        yield

    serve(lambda: FastAPI(lifespan=lifespan), ServiceSettings(http_port=int(sys.argv[1]), database_url="sqlite://"),
          service="test")
""")


def test_a_taken_port_stops_the_service_before_its_consumers_start(tmp_path):
    marker = tmp_path / "lifespan-started"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-c", SERVICE, str(port), str(marker)], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "address already in use" in done.stderr.lower()
    assert not marker.exists()
