"""Who may see and change what: OIDC bearer tokens, roles and scope, one policy table."""

from shared.auth.guard import AuthContext, caller, out_of_scope
from shared.auth.oidc import IssuerKeys, TokenRejected, TokenVerifier, principal_from_claims
from shared.auth.policy import Policy, policy_for
from shared.auth.principal import ANONYMOUS, Principal, Role
from shared.auth.settings import OidcSettings

__all__ = [
    "ANONYMOUS", "AuthContext", "IssuerKeys", "OidcSettings", "Policy", "Principal", "Role", "TokenRejected",
    "TokenVerifier", "caller", "out_of_scope", "policy_for", "principal_from_claims",
]
