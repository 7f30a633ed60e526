"""The sample forms linked from the README are what the demo data gives today: regenerated
(in-process, SQLite, in-memory broker) and compared byte for byte with the committed files."""

import importlib.util
from pathlib import Path

from tests.support.infrastructure import REPO

_spec = importlib.util.spec_from_file_location("sample_forms", REPO / "deploy" / "local" / "sample_forms.py")
assert _spec and _spec.loader
sample_forms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample_forms)
COMMITTED = REPO / "docs" / "samples"


async def test_the_committed_samples_are_what_the_demo_data_gives(tmp_path: Path):
    written = await sample_forms.generate(out=tmp_path / "out", work=tmp_path)

    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED.iterdir() if p.suffix in (".csv", ".xlsx"))
    stale = [p.name for p in written if p.read_bytes() != (COMMITTED / p.name).read_bytes()]
    assert not stale, f"docs/samples is out of date ({', '.join(stale)}): run .venv/bin/python deploy/local/sample_forms.py"
