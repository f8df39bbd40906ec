"""Identity document numbers: validation, masking, synthetic numbers and encryption at rest.

Why it is written this way:

* Pure Python, no models. Import code, forms, serializers and the demo-data generator all need
  the same rules, and a million-row import should not have to go through a model instance per
  row. Django is touched only for translations (``gettext_lazy``) and, lazily, for settings.

* Numbers are normalized before any rule runs. Registrars paste from spreadsheets and Chinese
  input methods, so full-width digits and letters, the ideographic space, NBSP and zero-width
  characters are common; a lower-case ``x`` check character is just as common. Only *ASCII*
  digits count as digits afterwards: ``str.isdigit`` and ``\\d`` also accept e.g. ``²`` or
  Arabic-Indic digits, which would slip through and break ``int()`` or the check sum.

* Errors carry a lazy message, a ``code`` and ``params`` - the same shape as Django's
  ``ValidationError`` - so a form can re-raise them in the user's language without this module
  knowing about forms. Each message says what is wrong *and* what is expected (the correct check
  character, the date that does not exist), because the person typing usually holds the card.

* The resident ID (GB 11643-1999) check character is ISO 7064 MOD 11-2; its arithmetic comes
  from python-stdnum. ``stdnum.cn.ric.validate`` itself is not used: it also looks the region
  code up in stdnum's own table, which refuses codes valid on the card's issue date but since
  withdrawn, the 810000/820000/830000 prefixes of residence permits and synthetic demo regions.
  Region codes are checked against the division table elsewhere. Careful: stdnum's
  ``calc_check_digit`` expects the *whole* 18-character number and ignores its last character;
  given only the 17-digit body it silently returns a wrong answer.

* Encryption uses authenticated encryption (GCM) with a random 96-bit nonce per value, so equal
  numbers give different ciphertexts; lookup and uniqueness go through ``digest`` (HMAC-SHA256)
  instead. Encryption and MAC keys are derived from one master key with HKDF under distinct
  labels, so no key is used for two purposes. Every blob starts with a format version and a
  cipher id, and both header bytes are authenticated (GCM additional data); decryption follows
  the blob's cipher id rather than the current setting, so switching ``SANTONG_ID_CIPHER``
  between AES-256-GCM and SM4-GCM (GB/T 32907, for deployments that require national
  algorithms) never makes stored rows unreadable. SM4-GCM goes through ``cryptography``'s
  generic ``Cipher`` API with ``algorithms.SM4`` and ``modes.GCM``, which the installed
  ``cryptography`` supports; there is no one-shot AEAD class for it as there is for AES.
"""

from __future__ import annotations

import functools
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.signals import setting_changed
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

__all__ = [
    "CIPHER_NAMES",
    "DEFAULT_CIPHER",
    "IdNumberError",
    "IdType",
    "IdentityVault",
    "IdentityVaultError",
    "ParsedId",
    "check_consistency",
    "get_vault",
    "make_resident_id",
    "mask_id_number",
    "normalize_id_number",
    "reset_vault_cache",
    "validate_id_number",
]


class IdType(StrEnum):
    """Identity document types; the codes are those stored in ``Person.id_type``."""

    RESIDENT = "1"  # 居民身份证 (GB 11643)
    RESIDENCE_PERMIT = "2"  # 港澳台居民居住证: resident-ID format, prefix 810000/820000/830000
    HK_MACAO_PERMIT = "3"  # 港澳居民来往内地通行证: H or M + 8 or 10 digits
    TAIWAN_PERMIT = "4"  # 台湾居民来往大陆通行证: 8 digits
    PASSPORT = "5"  # 护照: 5-17 letters or digits
    NONE = "9"  # 无证件: no number


_TYPE_CODES: Final = frozenset(IdType)

MALE: Final = "1"  # GB/T 2261.1
FEMALE: Final = "2"

EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
HMT_REGION_CODES: Final = frozenset({"810000", "820000", "830000"})  # Hong Kong, Macao, Taiwan

_HK_MACAO_RE: Final = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_TAIWAN_RE: Final = re.compile(r"[0-9]{8}")
_PASSPORT_RE: Final = re.compile(r"[A-Z0-9]{5,17}")


class IdNumberError(ValueError):
    """A document number that cannot be accepted.

    ``message`` is lazy and untranslated until shown; ``params`` fill its placeholders and
    ``code`` names the reason for API clients - pass all three to ``ValidationError``.
    """

    def __init__(
        self, message: _StrOrPromise, *, code: str, params: dict[str, Any] | None = None
    ) -> None:
        self.message = message
        self.code = code
        self.params = params or {}
        super().__init__(message, code, self.params)

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True, slots=True)
class ParsedId:
    """A valid document number and what it encodes (only resident IDs and permits encode data)."""

    number: str
    id_type: IdType
    birth_date: date | None = None
    gender: str | None = None  # "1" male / "2" female (GB/T 2261.1)
    region_code: str | None = None


# --------------------------------------------------------------------------- normalization

_TRANSLATE: Final = {
    **{cp: cp - 0xFEE0 for cp in range(ord("０"), ord("９") + 1)},
    **{cp: cp - 0xFEE0 for cp in range(ord("Ａ"), ord("Ｚ") + 1)},
    **{cp: cp - 0xFEE0 for cp in range(ord("ａ"), ord("ｚ") + 1)},
    # Zero-width characters survive copy and paste from web pages and spreadsheets.
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff")),
}


def normalize_id_number(raw: str) -> str:
    """Remove all whitespace, map full-width digits and letters to ASCII, upper-case."""
    if raw.isascii() and raw.isalnum():  # the common, already clean case: skip the rest
        return raw.upper()
    # str.split() without arguments splits on every Unicode space, U+3000 and NBSP included.
    return "".join(raw.translate(_TRANSLATE).split()).upper()


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# --------------------------------------------------------------------------- validation


def _check_char(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a 17-digit body."""
    # stdnum drops the last character of what it is given, so give it a placeholder.
    return str(ric.calc_check_digit(body + "0"))


def _today() -> date:
    """Today where the platform runs (settings.TIME_ZONE), the system date without Django."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        time_zone = settings.TIME_ZONE
    except ImproperlyConfigured:
        return date.today()
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(time_zone)).date()


def _parse_resident_format(number: str, id_type: IdType, today: date) -> ParsedId:
    """GB 11643 structure, shared by resident IDs and HK/Macao/Taiwan residence permits."""
    if id_type is IdType.RESIDENT and len(number) == 15 and _is_digits(number):
        raise IdNumberError(
            _("不再接受15位的第一代身份证号码，请填写18位号码。"),
            code="old_number",
        )
    if len(number) != 18:
        raise IdNumberError(
            _("身份证号码应为18位，当前输入了 %(length)s 位。"),
            code="length",
            params={"length": len(number)},
        )
    body, last = number[:17], number[17]
    if not _is_digits(body):
        raise IdNumberError(_("身份证号码的前17位必须是数字。"), code="format")
    if not (_is_digits(last) or last == "X"):
        raise IdNumberError(_("身份证号码的最后一位必须是数字或 X。"), code="format")
    region_code = number[:6]
    if id_type is IdType.RESIDENT and region_code in HMT_REGION_CODES:
        raise IdNumberError(
            _("以 810000、820000 或 830000 开头的号码属于港澳台居民居住证，请选择该证件类型。"),
            code="wrong_type",
        )
    if id_type is IdType.RESIDENCE_PERMIT and region_code not in HMT_REGION_CODES:
        raise IdNumberError(
            _("港澳台居民居住证号码以 810000、820000 或 830000 开头。"),
            code="format",
        )

    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    shown = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    try:
        birth_date = date(year, month, day)
    except ValueError:
        raise IdNumberError(
            _("号码中的出生日期 %(date)s 不存在。"),
            code="birth_date",
            params={"date": shown},
        ) from None
    if birth_date > today:
        raise IdNumberError(
            _("号码中的出生日期 %(date)s 晚于今天。"),
            code="birth_date",
            params={"date": shown},
        )
    if birth_date < EARLIEST_BIRTH_DATE:
        raise IdNumberError(
            _("号码中的出生日期 %(date)s 早于1900-01-01。"),
            code="birth_date",
            params={"date": shown},
        )

    expected = _check_char(body)
    if last != expected:
        raise IdNumberError(
            _("校验码不正确：应为 %(expected)s。"),
            code="checksum",
            params={"expected": expected},
        )
    gender = MALE if int(number[16]) % 2 else FEMALE
    return ParsedId(number, id_type, birth_date, gender, region_code)


def validate_id_number(id_type: str, raw: str, *, today: date | None = None) -> ParsedId:
    """Normalize and validate ``raw`` as a number of document type ``id_type``.

    ``today`` bounds the encoded birth date; it defaults to today in ``settings.TIME_ZONE``.
    Raises ``IdNumberError`` with the reason.
    """
    try:
        kind = IdType(id_type)
    except ValueError:
        raise IdNumberError(
            _("未知的证件类型 %(id_type)s。"),
            code="unknown_type",
            params={"id_type": id_type},
        ) from None
    number = normalize_id_number(raw)

    if kind is IdType.NONE:
        if number:
            raise IdNumberError(
                _("无证件时不能填写证件号码。"),
                code="unexpected_number",
            )
        return ParsedId("", kind)
    if not number:
        raise IdNumberError(_("请填写证件号码。"), code="required")

    if kind in (IdType.RESIDENT, IdType.RESIDENCE_PERMIT):
        return _parse_resident_format(number, kind, today or _today())
    if kind is IdType.HK_MACAO_PERMIT:
        if not _HK_MACAO_RE.fullmatch(number):
            raise IdNumberError(
                _("港澳居民来往内地通行证号码为 H 或 M 加8位或10位数字。"),
                code="format",
            )
    elif kind is IdType.TAIWAN_PERMIT:
        if not _TAIWAN_RE.fullmatch(number):
            raise IdNumberError(
                _("台湾居民来往大陆通行证号码为8位数字。"),
                code="format",
            )
    elif not _PASSPORT_RE.fullmatch(number):  # IdType.PASSPORT
        raise IdNumberError(_("护照号码为5到17位字母或数字。"), code="format")
    return ParsedId(number, kind)


def check_consistency(parsed: ParsedId, *, birth_date: date | None, gender: str | None) -> None:
    """Refuse a birth date or gender (GB/T 2261.1 code) that the number contradicts.

    Values that are missing on either side, and genders other than "1"/"2" (unknown,
    unspecified), contradict nothing.
    """
    if birth_date is not None and parsed.birth_date is not None and birth_date != parsed.birth_date:
        raise IdNumberError(
            _("出生日期 %(given)s 与证件号码中的 %(encoded)s 不一致。"),
            code="birth_date_mismatch",
            params={"given": birth_date.isoformat(), "encoded": parsed.birth_date.isoformat()},
        )
    if gender in (MALE, FEMALE) and parsed.gender is not None and gender != parsed.gender:
        if parsed.gender == MALE:
            message = _("该证件号码属于男性，但填写的性别为女。")
        else:
            message = _("该证件号码属于女性，但填写的性别为男。")
        raise IdNumberError(message, code="gender_mismatch")


# --------------------------------------------------------------------------- display and demo


def digest_in(digests: Iterable[str], *, field: str = "id_digest") -> Q:
    """Rows whose ID digest is one of `digests`. The unique indexes on digests are partial
    (a person without an ID document has none), and neither SQLite nor PostgreSQL (past 100
    values) uses a partial index unless the query repeats its condition: without it, a batch
    lookup scans every person."""
    return Q(**{f"{field}__in": [d for d in digests if d]}) & ~Q(**{field: ""})


def mask_id_number(number: str) -> str:
    """``510104********1234`` for 18 characters; otherwise first 2 and last 2 are kept.

    At least one character is always hidden; numbers of four or fewer are hidden entirely.
    """
    length = len(number)
    if length == 18:
        return f"{number[:6]}{'*' * 8}{number[-4:]}"
    if length <= 4:
        return "*" * length
    return f"{number[:2]}{'*' * (length - 4)}{number[-2:]}"


def make_resident_id(region_code: str, birth: date, sequence: int, male: bool) -> str:
    """A valid synthetic resident ID, deterministic in its arguments (for demo data).

    ``sequence`` 0..499 becomes the 3-digit order code ``2 * sequence + 1`` for men (odd) and
    ``2 * sequence`` for women (even), so every pair (sequence, gender) is distinct.
    """
    if len(region_code) != 6 or not _is_digits(region_code):
        raise ValueError(f"region_code must be 6 digits, not {region_code!r}")
    if not 0 <= sequence <= 499:
        raise ValueError(f"sequence must be in 0..499, not {sequence}")
    if birth.year < 1000:
        raise ValueError(f"birth year must have 4 digits, not {birth.year}")
    body = f"{region_code}{birth:%Y%m%d}{2 * sequence + int(male):03d}"
    return body + _check_char(body)


# --------------------------------------------------------------------------- encryption


class IdentityVaultError(Exception):
    """A blob that cannot be decrypted: wrong key, tampered, truncated or of unknown format."""


_FORMAT_VERSION: Final = 1
_AES_256_GCM: Final = 1
_SM4_GCM: Final = 2
CIPHER_NAMES: Final = {"aes-256-gcm": _AES_256_GCM, "sm4-gcm": _SM4_GCM}
DEFAULT_CIPHER: Final = "aes-256-gcm"
_NONCE_SIZE: Final = 12
_TAG_SIZE: Final = 16
_HEADER_SIZE: Final = 2
_MASTER_KEY_SIZE: Final = 32


def _derive(master_key: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(master_key)


class IdentityVault:
    """Encrypts identity numbers and computes their lookup digest.

    ``encrypt`` writes with the configured cipher; ``decrypt`` reads either cipher.
    Blob layout: version (1 byte) | cipher id (1 byte) | nonce (12) | ciphertext | tag (16),
    with the two header bytes authenticated as additional data.
    """

    def __init__(self, master_key: bytes, cipher: str = DEFAULT_CIPHER) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != _MASTER_KEY_SIZE:
            raise ValueError("the identity master key must be exactly 32 bytes")
        if cipher not in CIPHER_NAMES:
            raise ValueError(f"unknown cipher {cipher!r}; choose one of {sorted(CIPHER_NAMES)}")
        self.cipher = cipher
        self._cipher_id = CIPHER_NAMES[cipher]
        self._header = bytes((_FORMAT_VERSION, self._cipher_id))
        self._aesgcm = AESGCM(_derive(master_key, b"santong/identity/aes-256-gcm", 32))
        self._sm4 = algorithms.SM4(_derive(master_key, b"santong/identity/sm4-gcm", 16))
        self._mac = hmac.new(
            _derive(master_key, b"santong/identity/digest/hmac-sha256", 32), digestmod=sha256
        )
        if self._cipher_id == _SM4_GCM:
            self.decrypt(self.encrypt(""))  # fail now if this OpenSSL lacks SM4

    def __repr__(self) -> str:
        return f"<IdentityVault cipher={self.cipher}>"

    def _sm4_encrypt(self, header: bytes, nonce: bytes, data: bytes) -> bytes:
        try:
            encryptor = Cipher(self._sm4, modes.GCM(nonce)).encryptor()
        except UnsupportedAlgorithm as exc:
            raise IdentityVaultError("SM4-GCM is not available in this OpenSSL build") from exc
        encryptor.authenticate_additional_data(header)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def _sm4_decrypt(self, header: bytes, nonce: bytes, sealed: bytes) -> bytes:
        data, tag = sealed[:-_TAG_SIZE], sealed[-_TAG_SIZE:]
        try:
            decryptor = Cipher(self._sm4, modes.GCM(nonce, tag)).decryptor()
        except UnsupportedAlgorithm as exc:
            raise IdentityVaultError("SM4-GCM is not available in this OpenSSL build") from exc
        decryptor.authenticate_additional_data(header)
        return decryptor.update(data) + decryptor.finalize()

    def encrypt(self, plaintext: str) -> bytes:
        header, nonce, data = self._header, os.urandom(_NONCE_SIZE), plaintext.encode()
        if self._cipher_id == _AES_256_GCM:
            return header + nonce + self._aesgcm.encrypt(nonce, data, header)
        return header + nonce + self._sm4_encrypt(header, nonce, data)

    def encrypt_many(self, values: list[str]) -> list[bytes]:
        """``encrypt`` for bulk loads: one urandom call, bound methods, no per-row branching."""
        header, size = self._header, _NONCE_SIZE
        pool = os.urandom(size * len(values))
        nonces = [pool[i : i + size] for i in range(0, len(pool), size)]
        seal = self._aesgcm.encrypt
        if self._cipher_id == _AES_256_GCM:
            return [
                header + nonce + seal(nonce, value.encode(), header)
                for nonce, value in zip(nonces, values, strict=True)
            ]
        sm4 = self._sm4_encrypt
        return [
            header + nonce + sm4(header, nonce, value.encode())
            for nonce, value in zip(nonces, values, strict=True)
        ]

    def decrypt(self, blob: bytes | bytearray | memoryview) -> str:
        """Decrypt a blob written by ``encrypt`` with either cipher (memoryview from bytea ok)."""
        blob = bytes(blob)
        if len(blob) < _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE:
            raise IdentityVaultError("identity blob is too short")
        version, cipher_id = blob[0], blob[1]
        if version != _FORMAT_VERSION:
            raise IdentityVaultError(f"unknown identity blob format version {version}")
        header = blob[:_HEADER_SIZE]
        nonce = blob[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
        sealed = blob[_HEADER_SIZE + _NONCE_SIZE :]
        try:
            if cipher_id == _AES_256_GCM:
                data = self._aesgcm.decrypt(nonce, sealed, header)
            elif cipher_id == _SM4_GCM:
                data = self._sm4_decrypt(header, nonce, sealed)
            else:
                raise IdentityVaultError(f"unknown identity blob cipher id {cipher_id}")
            return data.decode()
        except InvalidTag:
            raise IdentityVaultError(
                "identity blob failed authentication: wrong key or tampered data"
            ) from None
        except UnicodeDecodeError:  # authenticated yet not UTF-8: not written by encrypt()
            raise IdentityVaultError("identity blob does not hold text") from None

    def digest(self, id_type: str, number: str) -> str:
        """Keyed, deterministic 64-hex-digit hash of the type and normalized number.

        Unique per (type, number), so it can back a unique column and exact-match lookups
        without decrypting; without the key it cannot be reversed by enumerating numbers.
        """
        if id_type not in _TYPE_CODES:
            raise ValueError(f"unknown document type {id_type!r}")
        mac = self._mac.copy()
        mac.update(f"{id_type}:{normalize_id_number(number)}".encode())
        return mac.hexdigest()


@functools.cache
def get_vault() -> IdentityVault:
    """The process-wide vault from ``SANTONG_ID_MASTER_KEY`` and ``SANTONG_ID_CIPHER``."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    master_key = getattr(settings, "SANTONG_ID_MASTER_KEY", None)
    cipher = getattr(settings, "SANTONG_ID_CIPHER", DEFAULT_CIPHER)
    if not isinstance(master_key, bytes) or len(master_key) != _MASTER_KEY_SIZE:
        raise ImproperlyConfigured("SANTONG_ID_MASTER_KEY must be set to exactly 32 bytes")
    if cipher not in CIPHER_NAMES:
        raise ImproperlyConfigured(
            f"SANTONG_ID_CIPHER must be one of {sorted(CIPHER_NAMES)}, not {cipher!r}"
        )
    return IdentityVault(master_key, cipher)


def reset_vault_cache() -> None:
    """Forget the vault so the next ``get_vault`` reads the settings again."""
    get_vault.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # override_settings and pytest-django's ``settings`` fixture send this signal.
    if setting in {"SANTONG_ID_MASTER_KEY", "SANTONG_ID_CIPHER"}:
        reset_vault_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="santong.accounts.identity.vault")
