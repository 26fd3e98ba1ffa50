"""results.csv: one trial row and one row per endpoint per scenario, the numbers of report.json."""

import csv

from _runs import run
from simulator.report.csv import COLUMNS


def test_results_csv_layout_and_values(small_config, tmp_path):
    report = run(
        small_config,
        ["sweep.endpoints.resp.truth.experimental=[0.4, 0.5]", "trial.n_total=[100, 140]", "simulation.null=true"],
        n_sims=2000, out=tmp_path,
    )
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:3] == ["scenario", "trial.n_total", "endpoints.resp.truth.experimental"]
    assert header[3 : 3 + len(COLUMNS)] == list(COLUMNS)
    assert len(rows) == 2 * len(report["scenarios"])
    for index, scenario in enumerate(report["scenarios"]):
        trial, endpoint = rows[2 * index], rows[2 * index + 1]
        assert trial["scenario"] == endpoint["scenario"] == str(index)
        assert (trial["level"], trial["endpoint"]) == ("trial", "")
        assert (endpoint["level"], endpoint["endpoint"]) == ("endpoint", "resp")
        swept = "endpoints.resp.truth.experimental"
        assert float(trial[swept]) == scenario["params"][swept]
        assert int(trial["n_total"]) == scenario["n_total"]
        for key in ("power", "power_mcse", "assurance", "assurance_mcse", "type1", "type1_mcse"):
            assert float(trial[key]) == scenario[key]  # exact: shortest round-trip repr
        block = scenario["endpoints"]["resp"]
        for key in ("power", "power_mcse", "assurance_mcse", "expected_n", "prior_p_benefit"):
            assert float(endpoint[key]) == block[key]
        assert float(endpoint["power_exact"]) == block["analytic"]["power_exact"]
        assert trial["expected_n"] == ""


def test_analytic_columns_say_when_they_describe_another_design():
    # A report review: with interim rules power_analytic was the design without them, and an endpoint read at the
    # survival looks had its planned looks' values; report.md said so in its headers, results.csv did not.
    from simulator.report.csv import rows

    def endpoint(extra):
        return {"kind": "binary", "power": 0.9, "analytic": {"power": 0.8}, **extra}

    report = {"scenarios": [{"params": {}, "n_total": 100, "endpoints": {
        "plain": endpoint({}),
        "ruled": endpoint({"interim": {"power": {}}}),
        "joint": endpoint({"realised_fractions_note": "read at os's looks"}),
        "both": endpoint({"interim": {}, "realised_fractions_note": "x"}),
    }}]}
    header, body = rows(report)
    column = header.index("analytic_of")
    assert [row[column] for row in body] == ["", "", "the design without the rules", "the planned looks",
                                             "the design without the rules; the planned looks"]
    del report["scenarios"][0]["endpoints"]["ruled"], report["scenarios"][0]["endpoints"]["joint"]
    del report["scenarios"][0]["endpoints"]["both"]
    assert "analytic_of" not in rows(report)[0]  # only when some row has it


def test_a_swept_list_with_an_infinite_value_is_written_as_in_toml(small_config, tmp_path):
    # A review: a futility list [-inf, 0.5] was written [-Infinity, 0.5], neither TOML nor strict JSON; report.json
    # writes its params as ["-inf", 0.5].
    report = run(small_config, ["design.looks=3", 'sweep."design.futility"=[[-inf, 0.5], [0.0, 0.5]]'],
                 n_sims=1000, out=tmp_path)
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        cells = [row["design.futility"] for row in csv.DictReader(handle) if row["level"] == "trial"]
    assert cells == ['["-inf", 0.5]', "[0.0, 0.5]"]
    assert report["scenarios"][0]["params"]["design.futility"] == ["-inf", 0.5]
