import numpy as np
import pytest
from helpers import with_changes

from simlib.behaviour.performance import effort, landing_weights, pay_at_stake, true_performance
from simlib.params.scenario import Structure
from simlib.rules.raters import RaterTraits, RatingContext, draw_leniency, rate_by_supervisor
from simlib.world.workforce import generate


def _wf(district, n=3000):
    s = Structure(employees=n, jpt_posts=1, units=10, subunits_per_unit=1,
                  fungsional_share=0.5, pppk_share=0.1, female_share=0.5)  # fmt: skip
    return generate(s, district.workforce, rng=np.random.default_rng(2))


def expected_difference(multipliers):
    """E|m_j - m_k| over two landings on the 3x3 matrix, by hand: cells per predikat
    (Sangat Baik 1, Baik 3, Butuh Perbaikan 2, Kurang 2, Sangat Kurang 1, of 9)."""
    cells = (1, 3, 2, 2, 1)
    return (
        sum(
            a * b * abs(x - y)
            for a, x in zip(cells, multipliers, strict=True)
            for b, y in zip(cells, multipliers, strict=True)
        )
        / 81
    )


def test_landing_weights_are_the_matrix_cells():
    np.testing.assert_allclose(landing_weights(), np.array([1, 3, 2, 2, 1]) / 9)


def test_pay_at_stake_weighs_the_whole_schedule(central):
    # 100/100/75/50/25 %: (4·2·.25 + 4·2·.5 + 4·1·.75 + 2·2·.25 + 2·1·.5 + 2·1·.25) · 2 / 81
    assert pay_at_stake(central) == pytest.approx(0.6 * 23 / 81)
    assert pay_at_stake(central) == pytest.approx(
        0.6 * expected_difference((1, 1, 0.75, 0.5, 0.25))
    )
    flat = with_changes(central, incentives__multipliers__butuh_perbaikan=1.0,
                        incentives__multipliers__kurang=1.0,
                        incentives__multipliers__sangat_kurang=1.0)  # fmt: skip
    assert pay_at_stake(flat) == 0.0


@pytest.mark.parametrize(
    "changes",
    [{"incentives__multipliers__kurang": 0.2}, {"incentives__multipliers__sangat_kurang": 0.0}],
)
def test_a_reform_of_the_bottom_multipliers_alone_changes_pay_at_stake(central, changes):
    harsher = with_changes(central, **changes)
    assert pay_at_stake(harsher) > pay_at_stake(central), changes
    m = harsher.incentives.multipliers.as_tuple()
    assert pay_at_stake(harsher) == pytest.approx(0.6 * expected_difference(m))


def test_effort_rises_with_stake_times_instrumentality(district):
    wf = _wf(district)
    b = district.behaviour
    low = effort(wf, b, stake=0.1, instrumentality=0.2).mean()
    high = effort(wf, b, stake=0.1, instrumentality=0.8).mean()
    crowd = 1 - b.crowding_out * np.maximum(wf.motivation, 0)
    assert high - low == pytest.approx(b.pay_sensitivity * 0.1 * 0.6 * crowd.mean())


def test_true_performance_equation(district):
    wf = _wf(district)
    p = district.performance
    e = np.zeros(wf.n)
    hasil, perilaku = true_performance(wf, e, p, rng=np.random.default_rng(4))
    resid = hasil - p.competence_weight * wf.competence
    assert abs(resid.std() - p.noise_sd) < 0.03
    assert np.corrcoef(perilaku, wf.conduct)[0, 1] > 0.8


def _context(district, wf, hasil, perilaku, *, leniency, noise_sd=None, pay_linked=False):
    raters = district.raters
    if noise_sd is not None:
        raters = raters.model_copy(update={"noise_sd": noise_sd})
    traits = RaterTraits(leniency, np.zeros((wf.n, 7)), np.zeros(wf.n, dtype=bool))
    return RatingContext(hasil, perilaku, wf, traits, raters, pay_linked)


def test_supervisor_rating_reliability_is_calibrated(district):
    """Two independent ratings of the same people by one rater correlate about .52."""
    wf = _wf(district, n=20_000)
    r = district.raters
    rng = np.random.default_rng(9)
    hasil, perilaku = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
    a = rate_by_supervisor(
        _context(district, wf, hasil, perilaku, leniency=draw_leniency(wf.n, r, rng=rng)), rng=rng
    )
    b = rate_by_supervisor(
        _context(district, wf, hasil, perilaku, leniency=draw_leniency(wf.n, r, rng=rng)), rng=rng
    )
    reliability = np.corrcoef(a.hasil_kerja, b.hasil_kerja)[0, 1]
    assert 0.42 < reliability < 0.62, reliability


def test_pay_purpose_inflates_supervisor_ratings(district):
    wf = _wf(district)
    rng = np.random.default_rng(1)
    h, p = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
    zero = np.zeros(wf.n + 1)
    base = rate_by_supervisor(
        _context(district, wf, h, p, leniency=zero), rng=np.random.default_rng(3)
    )
    paid = rate_by_supervisor(
        _context(district, wf, h, p, leniency=zero, pay_linked=True), rng=np.random.default_rng(3)
    )
    np.testing.assert_allclose(
        paid.hasil_kerja - base.hasil_kerja, district.raters.pay_purpose_inflation
    )
