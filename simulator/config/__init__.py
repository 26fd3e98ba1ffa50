"""The configuration layer: TOML -> frozen, validated dataclasses (one step).

- :mod:`simulator.config.fields`: readers of TOML values, one message format;
- :mod:`simulator.config.schema`: the dataclasses shared by every trial;
- :mod:`simulator.config.toml`: files, ``--set`` overrides, scenario expansion;
- :mod:`simulator.config.validate`: the whole-config validator (endpoint
  tables are read by their kind's parser, from :mod:`simulator.endpoints`);
- :mod:`simulator.config.load`: file or mapping -> validated scenarios.

The first three sit below every other layer; the last two above the endpoint
kinds (docs/architecture.md). Import them by module.
"""
