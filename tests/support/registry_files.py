"""Registry CSV files for the registry tests: valid Thai IDs (check digit from stdnum), written
the way exports arrive (UTF-8 with a BOM, Thai headers by default)."""

import csv
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from stdnum.th import pin

THAI_HEADER = ("เลขประจำตัวประชาชน", "รหัสบ้าน", "รหัสจังหวัด", "รหัสอำเภอ")
ENGLISH_HEADER = ("national_id", "household_id", "province", "district")


def valid_ids(count: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    ids: dict[str, None] = {}
    while len(ids) < count:
        first12 = str(rng.randint(1, 8)) + f"{rng.randrange(10 ** 11):011d}"
        ids[first12 + pin.calc_check_digit(first12)] = None
    return list(ids)


def person_rows(national_ids: Iterable[str], *, province: str = "64", district: str = "6406") -> list[list[str]]:
    return [[national_id, f"6406{index:07d}", province, district] for index, national_id in enumerate(national_ids)]


def write_registry(
    path: Path, rows: Sequence[Sequence[str]], *, header: Sequence[str] = THAI_HEADER, bom: bool = True
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        if bom:
            file.write("\ufeff")
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path
