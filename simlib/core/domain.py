"""The domain's fixed vocabularies: predikat, expectation levels, job types, golongan, rules.

Codes are small integers used in the numpy arrays; the tuples below give their names in
order. Predikat are ordered best first, so a lower code is a better predikat.
"""

from __future__ import annotations

__all__ = [
    "AGGREGATION_RULES",
    "AXIS_LEVELS",
    "EMPLOYMENT",
    "GOLONGAN",
    "JOB_TYPES",
    "ORG_PREDIKAT",
    "PREDIKAT",
    "PREDIKAT_LABELS",
]

#: Employee predikat (PermenPANRB 6/2022; SE MenPANRB 03/2023), best first.
PREDIKAT = ("sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")

#: Display labels of the employee predikat, by language.
PREDIKAT_LABELS = {
    "id": ("Sangat Baik", "Baik", "Butuh Perbaikan", "Kurang/Misconduct", "Sangat Kurang"),
    "en": ("Very good", "Good", "Needs improvement", "Poor/misconduct", "Very poor"),
}

#: Organisation predikat (SE MenPANRB 03/2023), best first.
ORG_PREDIKAT = ("istimewa", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")

#: Rating of hasil kerja and of perilaku against expectation, lowest first.
AXIS_LEVELS = ("di_bawah", "sesuai", "di_atas")

#: Job types of the ASN hierarchy, top first.
JOB_TYPES = ("jpt", "administrator", "pengawas", "fungsional", "pelaksana")

#: Golongan (civil-service rank groups) I-IV.
GOLONGAN = ("I", "II", "III", "IV")

#: Employment status: civil servant or government employee on contract.
EMPLOYMENT = ("pns", "pppk")

#: Aggregation rules for multi-source perilaku ratings (``policy.appraisal.aggregation.rule``;
#: implemented by :func:`simlib.rules.appraisal.aggregate`). Here, not in ``appraisal``, so the
#: policy record names them without importing model-side code.
AGGREGATION_RULES = (
    "supervisor_only", "weighted", "equal_360", "trimmed_mean", "severity_adjusted",
    "calibration_committee",
)  # fmt: skip
