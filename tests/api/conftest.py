import pytest
from rest_framework.test import APIClient

from kms.services.actor import Actor
from kms.services.tokens import token_create


def client_for(user) -> APIClient:
    _token, raw = token_create(actor=Actor.system(), user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api_root(root):
    return client_for(root)


@pytest.fixture
def api_alice(alice):
    return client_for(alice)


@pytest.fixture
def api_bob(bob):
    return client_for(bob)


@pytest.fixture
def api_mallory(mallory):
    return client_for(mallory)


@pytest.fixture
def anon():
    return APIClient()


def session_client(user) -> APIClient:
    """The browser's way in: a logged-in session (CSRF is tested in test_errors)."""
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture(params=["token", "session"])
def bob_either_way(request, bob) -> APIClient:
    """Bob through both doors of the data plane: a bearer token takes the lean views
    (kms.dataplane), a session the DRF views; both answer with one contract."""
    return client_for(bob) if request.param == "token" else session_client(bob)
