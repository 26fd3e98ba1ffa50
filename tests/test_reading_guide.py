"""The sentences above report.md's and report.html's tables say what the numbers are (a hand-over review)."""

from simulator.report.tables import reading_guide


def _report(endpoints: dict, *, type1=0.01, assurance=None, meta=None) -> dict:
    return {"meta": meta or {}, "scenarios": [{"type1": type1, "assurance": assurance, "endpoints": endpoints}]}


def test_one_endpoint_without_prior_or_null():
    guide = " ".join(reading_guide(_report({"resp": {}}, type1=None)))
    assert guide.startswith("Every simulated probability is a Monte Carlo estimate ± its Monte Carlo standard error")
    assert "exact, analytic and prior values are computed, not simulated" in guide
    assert "type I error" not in guide  # not simulated (p3sim size, or simulation.null = false): not described
    assert "assurance" not in guide


def test_several_endpoints_a_margin_a_prior_and_derived_events():
    meta = {"events": 139, "events_derivation": "Schoenfeld events for design.power = 0.8 ..."}
    report = _report({"os": {}, "morbidity": {"margin": 0.1, "prior_p_benefit": 0.98}}, assurance=0.45, meta=meta)
    guide = reading_guide(report)
    assert any(s.startswith("With several endpoints the trial's type I error is its success rule with every "
                            "endpoint at its null at once") for s in guide)
    assert any("prior P(benefit) is the prior probability of non-inferiority" in s for s in guide)
    assert any("assurance is trial success when the true effects are drawn from the prior" in s for s in guide)
    assert guide[-1] == ("Survival events at the final look (design.events, derived): 139: Schoenfeld events for "
                         "design.power = 0.8 ....")
