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


def test_each_endpoints_hypotheses_are_stated():
    # A hand-over review: the tables named a test and a margin, not the hypotheses a signer signs.
    from simulator.report.tables import hypotheses

    endpoints = {
        "os": {"effect_scale": "hazard ratio", "test": "logrank", "sided": 1, "alpha": 0.025},
        "os_ni": {"effect_scale": "hazard ratio", "margin": 1.3, "test": "logrank", "sided": 1, "alpha": 0.025},
        "morbidity": {"effect_scale": "p_E - p_C", "better": "lower", "margin": 0.1, "test": "farrington_manning",
                      "sided": 1, "alpha": 0.0125},
        "crs": {"effect_scale": "p_E - p_C", "better": "higher", "margin": 0.1, "test": "farrington_manning",
                "sided": 1, "alpha": 0.025},
        "qol": {"effect_scale": "mean_E - mean_C", "better": "higher", "test": "t", "sided": 2, "alpha": 0.05},
    }
    stated = hypotheses(_report(endpoints), 0).split("; ")
    assert stated == [
        "os: H0: HR >= 1 against H1: HR < 1 (logrank, one-sided alpha 0.025)",
        "os_ni: H0: HR >= 1.3 against H1: HR < 1.3 (logrank, one-sided alpha 0.025)",
        "morbidity: H0: p_E - p_C >= 0.1 against H1: p_E - p_C < 0.1 (farrington_manning, one-sided alpha 0.0125)",
        "crs: H0: p_E - p_C <= -0.1 against H1: p_E - p_C > -0.1 (farrington_manning, one-sided alpha 0.025)",
        "qol: H0: mean_E - mean_C = 0 against H1: mean_E - mean_C > 0 (success on the favourable side",
        "t, two-sided alpha 0.05)",
    ]


def test_cairo6_says_what_its_minimum_follow_up_does_and_the_summary_names_all_nulls():
    # A hand-over review of CAIRO6: the 36-month minimum follow-up read like the analysis time, which the derived
    # 139 events set (about 61 months at 358 patients, 13 months after the last entry); and the console's trial
    # type I error read as the trial's false-positive rate.
    import simulator as p3
    from simulator.report.text import summary_table

    trial = p3.Trial.from_toml("configs/cairo6.toml")
    derivation = trial.derived["events_derivation"]
    assert "os.follow_up.minimum (36 months) sets the design's subjects and study duration (analytic.subjects), " \
           "not when these trials are analysed: their looks come at these events" in derivation
    report = trial.override({"trial.n_total": 358}).simulate(n_sims=300, seed=1).to_dict()
    assert "type1 (all nulls at once) ± MCSE" in summary_table(report).splitlines()[0]
    note = report["scenarios"][0]["endpoints"]["morbidity"]["analytic"]["note"]
    known = report["scenarios"][0]["endpoints"]["morbidity"]["evaluable_per_look"][-1]
    assert f"known outcome (evaluable_per_look: {known:.1f} on average, both arms)" in note


def test_the_assurance_ceiling_follows_the_success_rule():
    # A report review: under rule "any" the guide said the trial's assurance cannot exceed prior P(benefit), beside
    # a trial assurance of 0.9937 and an endpoint's prior P(benefit) of 0.3932.
    one = " ".join(reading_guide(_report({"resp": {"prior_p_benefit": 0.4}}, assurance=0.3)))
    assert "and cannot exceed the prior probability that the experimental arm is better (prior P(benefit)), " \
           "except by type I errors" in one
    endpoints = {"a": {"prior_p_benefit": 0.39}, "b": {}}
    under_all = " ".join(reading_guide(_report(endpoints, assurance=0.3, meta={"success_rule": "all"})))
    assert "under the rule \"all\" the trial's cannot exceed the smallest endpoint's assurance" in under_all
    under_any = " ".join(reading_guide(_report(endpoints, assurance=0.99, meta={"success_rule": "any"})))
    assert "an endpoint's assurance cannot exceed its prior probability" in under_any
    assert "under the rule \"any\" the trial's assurance can exceed every endpoint's" in under_any
    assert "the trial's cannot exceed" not in under_any


def test_the_assurance_ceiling_with_a_sweep_over_the_rule():
    # A code review: a sweep over success.rule took the first scenario's rule (meta's) for every scenario.
    report = {"meta": {"success_rule": "all"},
              "scenarios": [{"params": {"success.rule": rule}, "assurance": 0.5, "type1": None,
                             "endpoints": {"a": {"prior_p_benefit": 0.6}, "b": {}}} for rule in ("all", "any")]}
    guide = " ".join(reading_guide(report))
    assert "under the rule \"all\" the trial's cannot exceed the smallest endpoint's assurance; under the rule " \
           "\"any\" the trial's assurance can exceed every endpoint's" in guide
