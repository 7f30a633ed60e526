"""The same intake as each source programme would send it: what the PDPA s.26 tests compare.

That a person came from a drug-rehabilitation or CI centre must not be readable from anything an
agency receives or from the forms (SP-12, SNB-2). The tests show it by building "twins" that
differ only in the programme (and, where they must be two people on one form, the ID) and
asserting that what comes out is the same.
"""

import copy
from typing import get_args

from shared.agencies import SourceProgram

PROGRAMMES: tuple[str, ...] = get_args(SourceProgram)
SENSITIVE = ("rehab_center", "ci_center")


def as_from(body: dict, *, program: str, national_id: str | None = None) -> dict:
    """`body` (an intake request) as `program` would send it; with `national_id`, as another
    person with everything else the same."""
    twin = copy.deepcopy(body)
    twin["source"]["program"] = program
    if national_id is not None:
        twin["person"]["national_id"] = national_id
    return twin


def twins(body: dict) -> dict[str, dict]:
    """{programme: body}: the same person's intake from every source programme."""
    assert set(SENSITIVE) <= set(PROGRAMMES)
    return {program: as_from(body, program=program) for program in PROGRAMMES}
