"""Identity numbers: validation rules, masking, synthetic numbers and the vault."""

from datetime import date, timedelta

import pytest
from django.utils import translation

from santong.accounts.identity import (
    IdentityVault,
    IdentityVaultError,
    IdNumberError,
    IdType,
    ParsedId,
    check_consistency,
    get_vault,
    make_resident_id,
    mask_id_number,
    normalize_id_number,
    reset_vault_cache,
    validate_id_number,
)

TODAY = date(2025, 6, 1)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


@pytest.fixture(autouse=True)
def _english():
    # Messages are asserted in English (the en catalogue), so this file also checks that each
    # Chinese source message has its translation.
    with translation.override("en"):
        yield


def with_check(body: str) -> str:
    """Independent ISO 7064 MOD 11-2 oracle, not the one under test."""
    assert len(body) == 17
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


def resident(raw: str, id_type: str = "1") -> ParsedId:
    return validate_id_number(id_type, raw, today=TODAY)


def error_of(id_type: str, raw: str) -> IdNumberError:
    with pytest.raises(IdNumberError) as info:
        validate_id_number(id_type, raw, today=TODAY)
    return info.value


# ----------------------------------------------------------------- resident ID


def test_oracle_agrees_with_published_samples():
    assert with_check("11010519491231002") == "11010519491231002X"
    assert with_check("36042619910101007") == "360426199101010071"


@pytest.mark.parametrize(
    ("region", "birth", "sequence", "male"),
    [
        ("510104", date(1990, 1, 1), 0, True),
        ("510104", date(1990, 1, 1), 0, False),
        ("110105", date(1949, 12, 31), 1, False),  # the GB 11643 sample: check char X
        ("440305", date(2024, 2, 29), 499, True),
        ("650102", date(1900, 1, 1), 123, False),
        ("330106", TODAY, 42, True),
    ],
)
def test_generated_numbers_round_trip(region, birth, sequence, male):
    number = make_resident_id(region, birth, sequence, male)
    parsed = resident(number)
    assert parsed == ParsedId(number, IdType.RESIDENT, birth, "1" if male else "2", region)
    assert number == with_check(number[:17])
    assert int(number[14:17]) in (2 * sequence, 2 * sequence + 1)


def test_generation_is_deterministic_and_distinct():
    birth = date(2010, 9, 1)
    numbers = {make_resident_id("510104", birth, s, m) for s in range(500) for m in (True, False)}
    assert len(numbers) == 1000
    assert make_resident_id("510104", birth, 7, True) == make_resident_id("510104", birth, 7, True)


@pytest.mark.parametrize(
    ("region", "sequence"), [("51010", 0), ("51010A", 0), ("510104", -1), ("510104", 500)]
)
def test_generation_refuses_bad_arguments(region, sequence):
    with pytest.raises(ValueError, match="must"):
        make_resident_id(region, date(2000, 1, 1), sequence, True)


def test_lower_case_x_accepted_and_normalized():
    parsed = resident("11010519491231002x")
    assert parsed.number == "11010519491231002X"
    assert parsed.gender == "2"
    assert parsed.birth_date == date(1949, 12, 31)


@pytest.mark.parametrize(
    "raw",
    [
        "５１０１０４１９９００１０１００１Ｘ",  # full-width digits and letter
        "510104 19900101 001x",  # spaces a person typed
        "\u3000510104199001010\u00a001X\t",  # ideographic space, NBSP, tab
        "\ufeff510104199001010\u200b01X",  # zero-width characters from copy and paste
    ],
)
def test_normalization(raw):
    assert normalize_id_number(raw) == "51010419900101001X"


def test_normalization_keeps_other_unicode_digits_which_are_then_refused():
    raw = "51010419900101001" + "\u0663"  # ARABIC-INDIC DIGIT THREE: isdigit() is True
    assert normalize_id_number(raw).endswith("\u0663")
    assert error_of("1", raw).code == "format"


def test_fifteen_digit_number_refused_with_its_own_message():
    error = error_of("1", "510104900101001")
    assert error.code == "old_number"
    assert "15-digit" in str(error)
    assert "18-digit" in str(error)


@pytest.mark.parametrize("raw", ["51010419900101001", "5101041990010100123", "51010490010100X"])
def test_wrong_length(raw):
    error = error_of("1", raw)
    assert error.code == "length"
    assert str(error) == f"An ID number has 18 characters; {len(raw)} were entered."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("5101041990O101001X", "The first 17 characters of an ID number must be digits."),
        ("A10104199001010010", "The first 17 characters of an ID number must be digits."),
        ("51010419900101001Y", "The last character of an ID number must be a digit or X."),
    ],
)
def test_letters_in_the_body(raw, message):
    error = error_of("1", raw)
    assert error.code == "format"
    assert str(error) == message


def test_29_february_in_a_non_leap_year_refused():
    error = error_of("1", with_check("51010420230229001"))
    assert error.code == "birth_date"
    assert str(error) == "The birth date 2023-02-29 encoded in the number does not exist."


def test_29_february_in_a_leap_year_accepted():
    assert resident(with_check("51010420240229001")).birth_date == date(2024, 2, 29)


@pytest.mark.parametrize("body", ["51010419901301001", "51010419900100001", "51010419900431001"])
def test_impossible_dates_refused(body):
    assert error_of("1", with_check(body)).code == "birth_date"


def test_future_birth_date_refused():
    tomorrow = TODAY + timedelta(days=1)
    error = error_of("1", with_check(f"510104{tomorrow:%Y%m%d}001"))
    assert error.code == "birth_date"
    assert str(error) == f"The birth date {tomorrow} encoded in the number is in the future."


def test_future_birth_date_refused_against_the_real_today():
    future = date.today() + timedelta(days=400)
    with pytest.raises(IdNumberError, match="in the future"):
        validate_id_number("1", with_check(f"510104{future:%Y%m%d}001"))


def test_birth_before_1900_refused():
    error = error_of("1", with_check("51010418991231001"))
    assert error.code == "birth_date"
    assert "before 1900-01-01" in str(error)


@pytest.mark.parametrize("body", ["11010519491231002", "51010419900101001", "44030520240229998"])
def test_check_character_off_by_one_names_the_expected_one(body):
    good = with_check(body)
    chars = "0123456789X"
    wrong = chars[(chars.index(good[-1]) + 1) % 11]
    error = error_of("1", body + wrong)
    assert error.code == "checksum"
    assert error.params == {"expected": good[-1]}
    assert str(error) == f"The check character is wrong: expected {good[-1]}."


def test_message_is_lazy_and_translatable():
    error = error_of("1", "51010419900101001")
    with translation.override("zh-hans"):
        assert str(error)  # renders in whatever catalogue exists, never fails
    assert error.message == "An ID number has 18 characters; %(length)s were entered."


def test_resident_id_refuses_residence_permit_prefix():
    assert error_of("1", with_check("81000019900101001")).code == "wrong_type"


# ----------------------------------------------------------------- consistency


def test_consistency_accepts_matching_and_missing_values():
    parsed = resident(make_resident_id("510104", date(2001, 5, 6), 3, True))
    check_consistency(parsed, birth_date=date(2001, 5, 6), gender="1")
    check_consistency(parsed, birth_date=None, gender=None)
    check_consistency(parsed, birth_date=None, gender="9")  # unspecified contradicts nothing
    check_consistency(validate_id_number("5", "E12345678"), birth_date=TODAY, gender="2")


def test_consistency_refuses_other_birth_date():
    parsed = resident(make_resident_id("510104", date(2001, 5, 6), 3, True))
    with pytest.raises(IdNumberError) as info:
        check_consistency(parsed, birth_date=date(2001, 6, 5), gender="1")
    assert info.value.code == "birth_date_mismatch"
    assert str(info.value) == (
        "The birth date 2001-06-05 does not match 2001-05-06 in the ID number."
    )


@pytest.mark.parametrize(("male", "given"), [(True, "2"), (False, "1")])
def test_consistency_refuses_other_gender(male, given):
    parsed = resident(make_resident_id("510104", date(2001, 5, 6), 3, male))
    with pytest.raises(IdNumberError) as info:
        check_consistency(parsed, birth_date=None, gender=given)
    assert info.value.code == "gender_mismatch"
    assert ("belongs to a man" in str(info.value)) is male


# ----------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("510104199001011234", "510104********1234"),
        ("51010419900101123X", "510104********123X"),
        ("H12345678", "H1*****78"),
        ("12345678", "12****78"),
        ("E1234", "E1*34"),
        ("ABCD", "****"),
        ("", ""),
    ],
)
def test_masking(number, masked):
    assert mask_id_number(number) == masked


# ----------------------------------------------------------------- other document types


@pytest.mark.parametrize(
    ("id_type", "raw", "number"),
    [
        ("2", with_check("81000019900101001"), with_check("81000019900101001")),
        ("2", with_check("82000020000229002"), with_check("82000020000229002")),
        ("2", with_check("83000019851231003").lower(), with_check("83000019851231003")),
        ("3", "H12345678", "H12345678"),
        ("3", "m1234567890", "M1234567890"),
        ("3", "Ｈ１２３４５６７８", "H12345678"),
        ("4", "12345678", "12345678"),
        ("4", " 1234 5678 ", "12345678"),
        ("5", "e12345678", "E12345678"),
        ("5", "AB123", "AB123"),
        ("5", "A" * 17, "A" * 17),
        ("9", "", ""),
        ("9", " \u3000", ""),
    ],
)
def test_other_types_valid(id_type, raw, number):
    parsed = validate_id_number(id_type, raw, today=TODAY)
    assert parsed.number == number
    assert parsed.id_type == id_type


def test_residence_permit_parses_like_a_resident_id():
    parsed = validate_id_number("2", with_check("82000020000229002"), today=TODAY)
    assert parsed.birth_date == date(2000, 2, 29)
    assert parsed.gender == "2"
    assert parsed.region_code == "820000"


@pytest.mark.parametrize(
    ("id_type", "raw", "code"),
    [
        ("2", with_check("51010419900101001"), "format"),  # not an HMT prefix
        ("2", "810000900101001", "length"),  # 15 digits: no first-generation message
        ("2", with_check("81000020230229001"), "birth_date"),
        ("2", with_check("81000019900101001")[:-1] + "Y", "format"),
        ("3", "H1234567", "format"),
        ("3", "H123456789", "format"),
        ("3", "A12345678", "format"),
        ("3", "H1234567X", "format"),
        ("4", "1234567", "format"),
        ("4", "123456789", "format"),
        ("4", "T1234567", "format"),
        ("5", "E123", "format"),
        ("5", "E" * 18, "format"),
        ("5", "E1234-567", "format"),
        ("5", "", "required"),
        ("1", "  ", "required"),
        ("9", "12345678", "unexpected_number"),
        ("7", "12345678", "unknown_type"),
    ],
)
def test_other_types_invalid(id_type, raw, code):
    assert error_of(id_type, raw).code == code


def test_type_codes():
    assert [t.value for t in IdType] == ["1", "2", "3", "4", "5", "9"]
    assert IdType("5") is IdType.PASSPORT
    assert f"{IdType.RESIDENT}" == "1"


# ----------------------------------------------------------------- vault


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
@pytest.mark.parametrize("text", ["51010419900101001X", "", "E12345678", "中文也可以"])
def test_vault_round_trip(cipher, text):
    vault = IdentityVault(KEY, cipher)
    blob = vault.encrypt(text)
    assert blob[0] == 1
    assert len(blob) == 2 + 12 + len(text.encode()) + 16
    assert vault.decrypt(blob) == text
    assert vault.decrypt(memoryview(blob)) == text  # as a bytea column may return it
    assert vault.encrypt(text) != blob  # random nonce


def test_cipher_ids_differ():
    assert IdentityVault(KEY, "aes-256-gcm").encrypt("x")[1] == 1
    assert IdentityVault(KEY, "sm4-gcm").encrypt("x")[1] == 2


def test_blob_written_by_aes_reads_after_switching_to_sm4():
    aes_blob = IdentityVault(KEY, "aes-256-gcm").encrypt("51010419900101001X")
    sm4 = IdentityVault(KEY, "sm4-gcm")
    assert sm4.decrypt(aes_blob) == "51010419900101001X"
    assert IdentityVault(KEY).decrypt(sm4.encrypt("E12345678")) == "E12345678"


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
@pytest.mark.parametrize("position", [1, 2, 13, 14, -1])  # cipher id, nonce, body, tag
def test_tampered_blob_raises(cipher, position):
    vault = IdentityVault(KEY, cipher)
    blob = bytearray(vault.encrypt("51010419900101001X"))
    blob[position] ^= 0x01 if position != 1 else 0x03  # id 1 <-> 2
    with pytest.raises(IdentityVaultError):
        vault.decrypt(bytes(blob))


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x01\x01" + b"\x00" * 20, b"\x02\x01" + b"\x00" * 40, b"\x01\x09" + b"\x00" * 40],
)
def test_malformed_blob_raises(blob):
    with pytest.raises(IdentityVaultError):
        IdentityVault(KEY).decrypt(blob)


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_wrong_key_raises(cipher):
    blob = IdentityVault(KEY, cipher).encrypt("51010419900101001X")
    with pytest.raises(IdentityVaultError, match="wrong key or tampered"):
        IdentityVault(OTHER_KEY, cipher).decrypt(blob)


@pytest.mark.parametrize(("key", "cipher"), [(b"short", "sm4-gcm"), (KEY, "des")])
def test_vault_refuses_bad_configuration(key, cipher):
    with pytest.raises(ValueError, match=r"master key|unknown cipher"):
        IdentityVault(key, cipher)


def test_digest_is_deterministic_and_depends_on_type_and_key():
    vault = IdentityVault(KEY)
    digest = vault.digest("1", "51010419900101001X")
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert digest == IdentityVault(KEY, "sm4-gcm").digest(IdType.RESIDENT, "51010419900101001X")
    assert digest == vault.digest("1", "51010419900101001x")  # normalized first
    assert digest != vault.digest("2", "51010419900101001X")
    assert vault.digest("4", "12345678") != vault.digest("5", "12345678")
    assert digest != IdentityVault(OTHER_KEY).digest("1", "51010419900101001X")
    with pytest.raises(ValueError, match="unknown document type"):
        vault.digest("7", "12345678")


@pytest.mark.parametrize("cipher", ["aes-256-gcm", "sm4-gcm"])
def test_encrypt_many_equals_decrypting_each(cipher):
    vault = IdentityVault(KEY, cipher)
    values = [make_resident_id("510104", date(2010, 1, 1), s, s % 2 == 0) for s in range(200)]
    values += ["", "E12345678"]
    blobs = vault.encrypt_many(values)
    assert [vault.decrypt(blob) for blob in blobs] == values
    assert len({blob[2:14] for blob in blobs}) == len(values)  # distinct nonces
    assert all(blob[:2] == vault.encrypt("x")[:2] for blob in blobs)
    assert vault.encrypt_many([]) == []


# ----------------------------------------------------------------- settings


@pytest.fixture
def fresh_vault():
    reset_vault_cache()
    yield
    reset_vault_cache()


def test_get_vault_is_cached_and_follows_settings(settings, fresh_vault):
    settings.SANTONG_ID_MASTER_KEY = KEY
    settings.SANTONG_ID_CIPHER = "aes-256-gcm"
    vault = get_vault()
    assert get_vault() is vault
    blob = vault.encrypt("51010419900101001X")

    settings.SANTONG_ID_CIPHER = "sm4-gcm"  # setting_changed resets the cache by itself
    switched = get_vault()
    assert switched is not vault
    assert switched.cipher == "sm4-gcm"
    assert switched.decrypt(blob) == "51010419900101001X"
    assert switched.encrypt("x")[1] == 2

    reset_vault_cache()
    assert get_vault() is not switched


@pytest.mark.parametrize(
    ("key", "cipher"), [(None, "aes-256-gcm"), (KEY.hex(), "aes-256-gcm"), (KEY, "rot13")]
)
def test_get_vault_refuses_bad_settings(settings, fresh_vault, key, cipher):
    from django.core.exceptions import ImproperlyConfigured

    settings.SANTONG_ID_MASTER_KEY = key
    settings.SANTONG_ID_CIPHER = cipher
    with pytest.raises(ImproperlyConfigured):
        get_vault()
