"""TOML -> frozen, validated dataclasses (one step)."""

from simulator.config.load import Scenario, load_raw, load_scenarios, scenario_digest
from simulator.config.schema import Config
from simulator.config.validate import validate

__all__ = ["Config", "Scenario", "load_raw", "load_scenarios", "scenario_digest", "validate"]
