import numpy as np
import pytest

from simlib.core.domain import JOB_TYPES
from simlib.core.errors import ConfigError
from simlib.params.scenario import Structure
from simlib.params.tables import age_bins, job_type_table, retirement_age, tenure_bins
from simlib.world.workforce import MIN_ENTRY_AGE_YEARS, generate, read_org_csv

JOB = {name: i for i, name in enumerate(JOB_TYPES)}


def structure(**kw):
    base = dict(
        employees=2000, jpt_posts=3, units=10, subunits_per_unit=2,
        fungsional_share=0.6, pppk_share=0.2, female_share=0.5,
    )  # fmt: skip
    return Structure(**{**base, **kw})


@pytest.fixture(scope="module")
def wf(district):
    return generate(structure(), district.workforce, rng=np.random.default_rng(3))


def test_hierarchy_layout(wf):
    counts = np.bincount(wf.job_type, minlength=5)
    assert counts[JOB["jpt"]] == 3
    assert counts[JOB["administrator"]] == 10
    assert counts[JOB["pengawas"]] == 20
    assert counts[JOB["fungsional"]] + counts[JOB["pelaksana"]] == 2000 - 33
    assert wf.supervisor[0] == -1 and (wf.supervisor[1:] >= 0).all()
    # JPT posts report to the head; everyone else to a higher job type.
    assert (wf.supervisor[1:3] == 0).all()
    rest = np.arange(3, wf.n)
    assert (wf.job_type[wf.supervisor[rest]] < wf.job_type[rest]).all()
    # Staff sit in the unit of their superior.
    staff = np.flatnonzero(wf.job_type >= JOB["fungsional"])
    assert (wf.unit[staff] == wf.unit[wf.supervisor[staff]]).all()


def test_grades_follow_the_job_type_table(wf):
    table = job_type_table()
    assert (wf.kelas >= table.kelas_min[wf.job_type]).all()
    assert (wf.kelas <= table.kelas_max[wf.job_type]).all()
    assert not wf.pppk[wf.job_type < JOB["fungsional"]].any(), "PPPK only among staff"
    staff_pppk = wf.pppk[wf.job_type >= JOB["fungsional"]].mean()
    assert 0.17 < staff_pppk < 0.23, staff_pppk


def test_age_and_tenure_follow_national_tables(district):
    big = generate(structure(employees=60_000, units=100), district.workforce,
                   rng=np.random.default_rng(5))  # fmt: skip
    bins = age_bins()
    observed = np.array(
        [
            ((big.age_years >= lo) & (big.age_years < hi + 1)).mean()
            for lo, hi in zip(bins.lo, bins.hi, strict=True)
        ]
    )
    # The national shares conditioned on being below one's batas usia pensiun, by hand:
    # a bin keeps the part of its whole years below the retirement age.
    ret = retirement_age()[big.job_type]
    expected = np.zeros(len(bins.share))
    for r in np.unique(ret):
        kept = bins.share * np.clip((r - bins.lo) / (bins.hi + 1 - bins.lo), 0, 1)
        expected += (ret == r).mean() * kept / kept.sum()
    # 60,000 draws: a share's binomial s.e. is below 0.002, so 0.01 is five of them.
    np.testing.assert_allclose(observed, expected, atol=0.01)
    assert (big.age_years < ret).all(), "nobody starts at or past the retirement age"
    assert (big.tenure_years <= big.age_years - MIN_ENTRY_AGE_YEARS + 1e-9).all()
    t = tenure_bins()
    share_0_10 = (big.tenure_years < 11).mean()
    assert abs(share_0_10 - t.share[0]) < 0.08, share_0_10


def test_latent_attributes_have_scenario_moments(wf, district):
    assert abs(wf.competence.mean() - district.workforce.competence.mean) < 0.08
    assert abs(wf.competence.std() - district.workforce.competence.sd) < 0.08
    r = np.corrcoef(wf.conduct, wf.motivation)[0, 1]
    assert abs(r - district.workforce.conduct_motivation_corr) < 0.08, r


def test_arrays_are_read_only(wf):
    with pytest.raises(ValueError, match="read-only"):
        wf.competence[0] = 9.0


def test_too_few_employees_for_the_posts_is_rejected():
    with pytest.raises(ValueError, match="cannot fill"):
        structure(employees=30)


def test_org_csv_is_read_and_ids_are_not_kept(tmp_path, district):
    path = tmp_path / "org.csv"
    path.write_text(
        "employee_id,unit,supervisor_id,kelas_jabatan,job_type,sex,age_years\n"
        "NIP-001,Pimpinan,,15,jpt,F,50\n"
        "NIP-002,Sekretariat,NIP-001,12,administrator,M,45\n"
        "NIP-003,Sekretariat,NIP-002,7,pelaksana,F,30\n"
        "NIP-004,Puskesmas A,NIP-002,9,fungsional,F,33\n"
    )
    wf = read_org_csv(path, district.workforce, rng=np.random.default_rng(1))
    assert wf.n == 4
    assert list(wf.supervisor) == [-1, 0, 1, 1]
    assert list(wf.kelas) == [15, 12, 7, 9]
    assert list(wf.female) == [True, False, True, True]
    frame = wf.frame()
    assert not frame.astype(str).apply(lambda c: c.str.contains("NIP")).any().any()


def test_org_csv_cycle_is_found(tmp_path, district):
    path = tmp_path / "org.csv"
    path.write_text(
        "employee_id,unit,supervisor_id,kelas_jabatan,job_type\n"
        "a,U,,15,jpt\nb,U,c,9,pengawas\nc,U,b,7,pelaksana\n"
    )
    with pytest.raises(ConfigError, match=r"row 3, supervisor_id: .c. makes a supervisor cycle"):
        read_org_csv(path, district.workforce, rng=np.random.default_rng(1))
