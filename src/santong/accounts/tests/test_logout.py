"""Logging out is audited like logging in: who, in which role, from where."""

from django.test import Client
from django.urls import reverse

from santong.accounts import services
from santong.accounts.middleware import SESSION_KEY
from santong.audit.models import AuditEvent


def test_the_service_writes_a_logout_row_in_the_acting_role(world):
    services.record_logout(actor=world.actor("head_teacher"))
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGOUT)
    assert event.actor == world.users["head_teacher"]
    assert event.object_id == str(world.users["head_teacher"].pk)
    assert event.path == world.roles["head_teacher"].path
    assert event.outcome == AuditEvent.Outcome.OK


def test_logging_out_of_the_site_is_audited(world):
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.force_login(world.users["county_admin"])
    session = client.session
    session[SESSION_KEY] = world.roles["county_admin"].pk
    session.save()

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGOUT)
    assert event.actor == world.users["county_admin"]
    assert event.actor_role == str(world.roles["county_admin"])
    assert event.path == world.county.path
    assert event.ip == "10.1.2.3"
    assert client.get(reverse("core:home")).status_code == 302


def test_a_logout_without_a_session_writes_nothing(world):
    response = Client().post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT).exists()
