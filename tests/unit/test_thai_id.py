import pytest
from pydantic_core import PydanticCustomError

from intake.thai_id import normalise_national_id


def test_accepts_a_valid_id_and_strips_spaces_and_hyphens():
    assert normalise_national_id("3-6401-00456-78-1") == "3640100456781"
    assert normalise_national_id(" 3640 1004 5678 1 ") == "3640100456781"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("3640100456782", "national_id_check_digit"),
        ("๓๖๔๐๑๐๐๔๕๖๗๘๑", "national_id_thai_digits"),
        ("３６４０１００４５６７８１", "national_id_full_width_digits"),
        ("36401004567A1", "national_id_not_digits"),
        ("364010045678", "national_id_length"),
        ("0640100456781", "national_id_invalid"),
    ],
)
def test_refuses_each_kind_of_mistake_with_its_own_reason(value, kind):
    with pytest.raises(PydanticCustomError) as refused:
        normalise_national_id(value)
    assert refused.value.type == kind
    assert refused.value.context["reason_th"]
