"""The four Ministry of Labour agencies that act on referrals, and the intake vocabularies."""

from typing import Literal, get_args

Agency = Literal["employment", "skills", "welfare", "social_security"]
AGENCIES: tuple[Agency, ...] = get_args(Agency)

SourceProgram = Literal["rehab_center", "ci_center", "tpmap", "informal_labour_unit", "walk_in"]
WorkerType = Literal["informal", "elderly", "disabled", "formal"]
Category = Literal["promote", "protect", "develop", "prevent"]
