import numpy as np
import pytest
from helpers import with_changes

from simlib.performance import effort, pay_at_stake, true_performance
from simlib.raters import draw_leniency, rate_by_supervisor
from simlib.scenario import Structure
from simlib.workforce import generate


def _wf(district, n=3000):
    s = Structure(employees=n, jpt_posts=1, units=10, subunits_per_unit=1,
                  fungsional_share=0.5, pppk_share=0.1, female_share=0.5)  # fmt: skip
    return generate(s, district.workforce, rng=np.random.default_rng(2))


def test_pay_at_stake(central):
    # 0.6 x (1.0 - 0.75)
    assert pay_at_stake(central) == 0.6 * 0.25
    flat = with_changes(central, incentives__multipliers__butuh_perbaikan=1.0)
    assert pay_at_stake(flat) == 0.0


def test_effort_rises_with_stake_times_instrumentality(district):
    wf = _wf(district)
    b = district.behaviour
    low = effort(wf, b, stake=0.1, instrumentality=0.2).mean()
    high = effort(wf, b, stake=0.1, instrumentality=0.8).mean()
    assert high - low == pytest.approx(b.pay_sensitivity * 0.1 * 0.6)


def test_true_performance_equation(district):
    wf = _wf(district)
    p = district.performance
    e = np.zeros(wf.n)
    hasil, perilaku = true_performance(wf, e, p, rng=np.random.default_rng(4))
    resid = hasil - p.competence_weight * wf.competence
    assert abs(resid.std() - p.noise_sd) < 0.03
    assert np.corrcoef(perilaku, wf.conduct)[0, 1] > 0.8


def test_supervisor_rating_reliability_is_calibrated(district):
    """Two independent ratings of the same people by one rater correlate about .52."""
    wf = _wf(district, n=20_000)
    r = district.raters
    rng = np.random.default_rng(9)
    hasil, perilaku = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
    len_a = draw_leniency(wf.n, r, rng=rng)
    len_b = draw_leniency(wf.n, r, rng=rng)
    a = rate_by_supervisor(hasil, perilaku, supervisor=wf.supervisor, leniency=len_a,
                           noise_sd=r.noise_sd, shift=0.0, rng=rng)  # fmt: skip
    b = rate_by_supervisor(hasil, perilaku, supervisor=wf.supervisor, leniency=len_b,
                           noise_sd=r.noise_sd, shift=0.0, rng=rng)  # fmt: skip
    reliability = np.corrcoef(a.hasil_kerja, b.hasil_kerja)[0, 1]
    assert 0.42 < reliability < 0.62, reliability


def test_shift_inflates_ratings(district):
    wf = _wf(district)
    rng = np.random.default_rng(1)
    h, p = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
    kw = dict(supervisor=wf.supervisor, leniency=np.zeros(wf.n + 1), noise_sd=0.5)
    base = rate_by_supervisor(h, p, shift=0.0, rng=np.random.default_rng(3), **kw)
    up = rate_by_supervisor(h, p, shift=0.33, rng=np.random.default_rng(3), **kw)
    np.testing.assert_allclose(up.hasil_kerja - base.hasil_kerja, 0.33)
