import pytest

from kg2instruction.render import quantity_forms, time_forms


@pytest.mark.parametrize(
    ("value", "precision", "expected", "absent"),
    [
        ("+1952-03-11T00:00:00Z", 11, ["1952年3月11日", "1952年03月11日", "11 March 1952", "1952年"], []),
        ("+1978-03-00T00:00:00Z", 10, ["1978年3月", "March 1978", "1978年"], ["1978年3月0日"]),
        ("+1209-00-00T00:00:00Z", 9, ["1209年"], ["1209年0月"]),
    ],
)
def test_time_forms_follow_precision(value, precision, expected, absent):
    forms = time_forms(value, precision)
    assert set(expected) <= set(forms) and not set(absent) & set(forms)
    assert forms == sorted(forms, key=len, reverse=True)  # longest tried first


def test_quantity_forms_with_units_and_separators():
    assert {"943平方公里", "943平方千米", "943 km2"} <= set(quantity_forms("+943", "Q712226"))
    assert {"1,234,567人", "1234567"} <= set(quantity_forms("+1234567", "1"))
    assert quantity_forms("not a number", "1") == []
