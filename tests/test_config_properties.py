"""Property: any value in any field of any config kind validates or is refused by name.

For every field of every kind (classification, regression, ufm), arbitrary values (ints of
any size, floats with NaN and infinities, strings, lists, mappings, None, bools, and the
field's own allowed choices) either give a valid config or raise ``ConfigError`` whose
message names the field — never a TypeError, OverflowError or KeyError from deeper down.
Fast tier: no data, no training; a few examples per field.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lt_lab.config import KINDS
from lt_lab.constraints import Options
from lt_lab.errors import ConfigError

BASE = {kind: cls.make("smoke") for kind, cls in KINDS.items()}
FIELDS = [(kind, f.name) for kind, cls in sorted(KINDS.items())
          for f in dataclasses.fields(cls)]

SCALARS = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
           | st.sampled_from([0, 1, 2, -1, 0.5, 1.5, 2**31, 2**32, 2**64, 10**400, "1", ""]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def _allowed(kind: str, name: str) -> list:
    """The field's own choices, to reach the relations between fields too."""
    constraint = KINDS[kind].constraints.get(name)
    return constraint.allowed() if isinstance(constraint, Options) else []


def test_every_kind_and_field_is_covered():
    assert {kind for kind, _ in FIELDS} == {"classification", "regression", "ufm"}
    assert ("classification", "loss_params") in FIELDS and ("ufm", "class_counts") in FIELDS


@pytest.mark.parametrize(("kind", "name"), FIELDS, ids=[f"{k}.{n}" for k, n in FIELDS])
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_value_validates_or_is_refused_naming_its_field(kind, name, data):
    choices = _allowed(kind, name)
    value = data.draw(st.sampled_from(choices) | VALUES if choices else VALUES, label=name)
    try:
        config = BASE[kind].replace(**{name: value})
    except ConfigError as error:
        assert name in str(error), f"{kind}.{name}={value!r}: {error}"
        return
    # accepted: the config is whole (its key and record form work)
    assert len(config.key()) == 16 and isinstance(config.to_dict(), dict)


@pytest.mark.parametrize(("kind", "overrides", "named"), [
    ("classification", {"epochs": 3, "warmup_epochs": 3}, ("warmup_epochs", "epochs")),
    ("classification", {"epochs": 2, "loss": "class_balanced",
                        "loss_params": {"drw_start": 0.8}}, ("drw_start", "epochs")),
    ("classification", {"dataset": "cifar100", "n_max": 600}, ("n_max", "cifar100")),
    ("regression", {"epochs": 2, "warmup_epochs": 5}, ("warmup_epochs", "epochs")),
    ("regression", {"cls_classes": 1000}, ("cls_classes", "45")),
    ("ufm", {"class_counts": [4.0, 1.0], "minority": [2]}, ("minority",)),
])
def test_a_relation_between_fields_names_both(kind, overrides, named):
    with pytest.raises(ConfigError) as caught:
        KINDS[kind].make("smoke", **overrides)
    assert all(part in str(caught.value) for part in named), str(caught.value)
