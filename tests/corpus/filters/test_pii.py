"""PII masking: every valid email/phone/ID/card/IP in the fixture is masked; checksum-invalid ones are not."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus.filters.pii import PiiStep, luhn_ok, mask_pii, valid_id_cn

# 11010519491231002X is the GB 11643 standard's own example; 440524188001010014 is valid too.
VALID_ID = "11010519491231002X"
INVALID_ID = "110105194912310021"  # same number, wrong check digit
CARD = "6222 0212 3456 7894"  # passes Luhn (checked below; 4111 1111 1111 1111 is the classic test card)

FIXTURE = (
    f"联系人张先生，电话13812345678，备用+86 139-1234-5678，邮箱 zhang.san@example.com。\n"
    f"身份证号{VALID_ID}，另一个440524188001010014；录入错误的号码{INVALID_ID}不是有效证件。\n"
    f"Card: {CARD}. Call +44 20 7946 0958 or email ops+alerts@mail.example.org.\n"
    "Server 192.168.10.25 and 2001:db8:85a3::8a2e:370:7334 are internal; version 3.10.4 is not an address."
)


def test_fixture_is_masked_and_counted() -> None:
    masked, counts = mask_pii(FIXTURE)
    assert counts == Counter({"phone": 3, "email": 2, "id_cn": 2, "bank_card": 1, "ip": 2})
    for secret in ["13812345678", "139-1234-5678", "zhang.san@example.com", VALID_ID, "440524188001010014",
                   CARD, "7946 0958", "ops+alerts@mail.example.org", "192.168.10.25", "2001:db8:85a3::8a2e:370:7334"]:
        assert secret not in masked
    assert INVALID_ID in masked  # checksum-invalid: left alone, neither an ID nor a card
    assert "version 3.10.4" in masked
    assert masked.count("<PHONE>") == 3 and masked.count("<ID_CN>") == 2


def test_checksums() -> None:
    assert valid_id_cn(VALID_ID) and not valid_id_cn(INVALID_ID)
    assert luhn_ok(CARD.replace(" ", "")) and not luhn_ok("6222021234567890")


def test_luhn_invalid_card_is_not_masked() -> None:
    masked, counts = mask_pii("card 6222 0212 3456 7890 expired")
    assert counts["bank_card"] == 0 and "6222 0212 3456 7890" in masked


@pytest.mark.parametrize(("kinds", "kept"), [(["email"], "13812345678"), (["phone"], "a@b.cn")])
def test_kinds_select_what_is_masked(kinds: list[str], kept: str) -> None:
    docs = [{"id": "1", "text": "mail a@b.cn tel 13812345678", "source": "t", "meta": {}}]
    counters: Counter = Counter()
    out = list(PiiStep(kinds=kinds)(iter(docs), counters))
    assert kept in out[0]["text"]
    assert counters[f"pii_{kinds[0]}"] == 1 and out[0]["meta"]["pii"] == {kinds[0]: 1}


def test_unknown_kind_is_a_setup_error() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        PiiStep(kinds=["passport"])
