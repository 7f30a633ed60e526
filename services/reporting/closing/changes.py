"""What changed between two versions of a form, person by person. Pure."""

from dataclasses import dataclass

from reporting.forms import FormTable
from reporting.forms.table import ERASED_PERSON_TH
from reporting.summaries import mask_national_id

Cells = tuple[str, ...]
ERASED_KEY = "erased#"  # an erased person's row, who has no ID to be keyed by


def rows_by_person(form: FormTable) -> dict[str, Cells]:
    """Each person's row without its sequence number (which shifts when someone is added), keyed
    by the national ID column; an erased person, who has none, by their line."""
    id_column = min(form.text_columns)
    return {(str(row[id_column]) or f"{ERASED_KEY}{row[0]}"): tuple("" if cell is None else str(cell) for cell in row[1:])
            for row in form.rows}


@dataclass(frozen=True, slots=True)
class FormChanges:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self, *, before: dict[str, Cells], after: dict[str, Cells]) -> list[dict]:
        """Readable lines for the amendment notice. IDs are masked: the notice is read by people
        who need to know what changed, not who."""
        def shown(national_id: str, cells: Cells) -> list[str]:
            return [mask(national_id) if cell == national_id else cell for cell in cells]

        lines = [{"change": "added", "person": mask(i), "row": shown(i, after[i])} for i in self.added]
        lines += [{"change": "removed", "person": mask(i), "row": shown(i, before[i])} for i in self.removed]
        lines += [{"change": "changed", "person": mask(i), "before": shown(i, before[i]), "after": shown(i, after[i])}
                  for i in self.changed]
        return lines


def compare(*, before: dict[str, Cells], after: dict[str, Cells]) -> FormChanges:
    return FormChanges(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(i for i in after.keys() & before.keys() if after[i] != before[i])),
    )


def mask(national_id: str) -> str:
    """The same mask as the summaries, so a person reads alike on every page."""
    if national_id.startswith(ERASED_KEY):
        return ERASED_PERSON_TH
    return mask_national_id(head=national_id[:6], check_digit=national_id[-1:], length=len(national_id))
