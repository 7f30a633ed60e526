"""The token checks and the scope arithmetic, without an identity provider: tokens minted with the
tests' own key (tests/support/tokens.py), checked by the services' verifier."""

import time

import jwt
import pytest

from shared.auth import OidcSettings, Principal, Role, TokenRejected, TokenVerifier, principal_from_claims
from tests.support.tokens import LocalIssuer, StaticKeys

ISSUER = LocalIssuer()


async def verify(token: str, verifier: TokenVerifier = ISSUER.verifier) -> Principal:
    return await verifier.verify(token)


async def refused(token: str) -> str:
    with pytest.raises(TokenRejected) as rejected:
        await verify(token)
    return rejected.value.reason


async def test_a_good_token_gives_its_subject_roles_and_scope():
    token = ISSUER.mint("u-1", roles=("agency_officer", "not_a_songtor_role"), agency="skills", provinces=("64", "65"))
    principal = await verify(token)
    assert principal.subject == "u-1" and principal.roles == {Role.AGENCY_OFFICER}
    assert principal.agency == "skills" and principal.provinces == {"64", "65"}


@pytest.mark.parametrize(("token", "reason"), [
    (ISSUER.mint(lifetime=-60), "expired"),
    (ISSUER.mint(not_before=600), "not valid yet"),
    (ISSUER.mint(audience="someone-else"), "not meant for this service"),
    (ISSUER.mint(issuer="https://evil.example/realms/songtor"), "another issuer"),
    (ISSUER.mint(typ="ID"), "not an access token"),
    (LocalIssuer().mint(), "key the issuer does not publish"),
    ("not-a-token", "not a JSON Web Token"),
])
async def test_bad_tokens_are_refused_with_a_reason(token, reason):
    assert reason in await refused(token)


async def test_unsigned_and_shared_secret_tokens_are_refused():
    claims = {"iss": ISSUER.issuer, "aud": "songtor", "sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers={"kid": ISSUER.kid})
    assert "algorithm" in await refused(unsigned)
    # HS256 with the public key as the secret: the classic confusion attack.
    hmac_token = jwt.encode(claims, key="a-shared-secret-of-some-length!!", algorithm="HS256", headers={"kid": ISSUER.kid})
    assert "algorithm" in await refused(hmac_token)


async def test_a_token_naming_no_key_is_refused():
    claims = {"iss": ISSUER.issuer, "aud": "songtor", "sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60}
    without_kid = jwt.encode(claims, ISSUER._private, algorithm="RS256")  # noqa: SLF001 - the tests' own key
    assert "kid" in await refused(without_kid)


async def test_a_small_clock_skew_is_tolerated():
    assert (await verify(ISSUER.mint(lifetime=-10))).subject == "user-1"  # within the 30 s leeway


def test_claim_names_follow_the_settings():
    settings = OidcSettings(issuer=ISSUER.issuer, roles_claim="realm_access.roles", provinces_claim="prov")
    claims = {"sub": "s", "realm_access": {"roles": ["national", "offline_access"]}, "prov": "64 65", "agency": ["welfare"]}
    principal = principal_from_claims(claims, settings)
    assert principal.roles == {Role.NATIONAL} and principal.provinces == {"64", "65"} and principal.agency == "welfare"
    two_agencies = principal_from_claims({"sub": "s", "agency": ["welfare", "skills"]}, settings)
    assert two_agencies.agency is None  # an officer works for exactly one agency


def test_scope_follows_the_org_unit_tree():
    clerk = Principal(subject="c", username="c", roles=frozenset({Role.INTAKE_CLERK}), org_units=frozenset({"6406"}))
    assert clerk.covers_org_unit("6406") and not clerk.covers_org_unit("6401") and not clerk.covers_province("64")
    office = Principal(subject="p", username="p", roles=frozenset({Role.PROVINCIAL_OFFICE}), provinces=frozenset({"64"}))
    assert office.covers_org_unit("6401") and office.covers_province("64") and not office.covers_org_unit("2401")
    national = Principal(subject="n", username="n", roles=frozenset({Role.NATIONAL}))
    assert national.covers_province("24") and national.covers_org_unit("2401")
    officer = Principal(subject="o", username="o", roles=frozenset({Role.AGENCY_OFFICER}), agency="skills",
                        provinces=frozenset({"64"}))
    assert officer.works_for("skills", "64") and not officer.works_for("skills", "24")
    assert not officer.works_for("welfare", "64") and not office.works_for("skills", "64")


async def test_keys_are_looked_up_by_the_tokens_key_id():
    other = LocalIssuer(issuer=ISSUER.issuer)
    both = TokenVerifier(ISSUER.settings, keys=StaticKeys(ISSUER.issuer, {
        ISSUER.kid: ISSUER._private.public_key(), other.kid: other._private.public_key()}))  # noqa: SLF001
    assert (await verify(other.mint("rotated"), both)).subject == "rotated"
    assert (await verify(ISSUER.mint("current"), both)).subject == "current"
