"""JWT issuing and the per-user revocation marker (the `gen` claim).

Every token carries the user's `token_generation` at issue time. Revoking bumps the counter, so
every older token, access tokens included, stops authenticating at once; the check costs nothing
extra because authentication loads the user row anyway.
"""

from rest_framework_simplejwt.tokens import RefreshToken

TOKEN_GENERATION_CLAIM = "gen"


def token_pair_for_user(user) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[TOKEN_GENERATION_CLAIM] = user.token_generation
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_generation_is_current(*, token, user) -> bool:
    return token.get(TOKEN_GENERATION_CLAIM) == user.token_generation
