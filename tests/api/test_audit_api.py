"""The audit log over the API: filters, scope, and read-only."""

from datetime import timedelta

from api_scope_world import result_keys
from django.utils import timezone

from santong.audit.models import AuditEvent
from santong.audit.services import record_event
from santong.core.actors import SYSTEM

EVENTS = "/api/v1/audit-events/"
# The acting role, the page's count, the page itself: however many rows the page holds.
LIST_QUERIES = 3


def test_events_filter_by_action_object_type_actor_and_outcome(world, api):
    admin = api("county_admin")
    admin.post(f"/api/v1/people/{world.users['student'].person.pk}/reveal/")
    client = api("city_admin")
    reveals = client.get(EVENTS, {"action": "reveal"})
    [row] = reveals.data["results"]
    assert row["action_display"] == "查看完整证件号"
    assert row["outcome_display"] == "成功"
    assert row["actor"] == world.users["county_admin"].pk
    assert row["actor_name"] == "张伟"
    by_actor = client.get(EVENTS, {"actor": world.users["county_admin"].pk})
    assert result_keys(by_actor) == {str(row["id"])}
    schools = client.get(EVENTS, {"object_type": "school", "page_size": 100})
    assert schools.data["count"] == 3
    assert client.get(EVENTS, {"outcome": "failed"}).data["count"] == 0


def test_events_filter_by_date_range(world, api):
    client = api("province_admin")
    now = timezone.now()
    total = client.get(EVENTS).data["count"]
    assert total > 0
    assert (
        client.get(EVENTS, {"at__gte": (now - timedelta(hours=1)).isoformat()}).data["count"]
        == total
    )
    assert (
        client.get(EVENTS, {"at__lte": (now - timedelta(hours=1)).isoformat()}).data["count"] == 0
    )
    bad = client.get(EVENTS, {"at__gte": "yesterday"})
    assert bad.status_code == 400
    assert set(bad.data) == {"at__gte"}


def test_events_of_another_county_are_invisible(world, api):
    other = AuditEvent.objects.get(object_type="schoolclass", object_id=str(world.other_class.pk))
    client = api("county_admin")
    assert client.get(f"{EVENTS}{other.pk}/").status_code == 404
    assert str(other.pk) not in result_keys(client.get(EVENTS, {"page_size": 500}))


def test_teachers_read_no_events(world, api):
    response = api("head_teacher").get(EVENTS)
    assert response.status_code == 200
    assert response.data["count"] == 0


def test_the_log_cannot_be_written_through_the_api(world, api):
    client = api("province_admin")
    event = AuditEvent.objects.filter(path__startswith="51").first()
    assert client.post(EVENTS, {"action": "login"}, format="json").status_code == 405
    assert client.delete(f"{EVENTS}{event.pk}/").status_code == 405
    assert (
        client.patch(f"{EVENTS}{event.pk}/", {"outcome": "denied"}, format="json").status_code
        == 405
    )


def test_event_list_query_count_does_not_grow(world, api, django_assert_num_queries):
    client = api("school_admin")
    with django_assert_num_queries(LIST_QUERIES):
        few = client.get(EVENTS, {"page_size": 100}).data["count"]
    for n in range(20):
        record_event(
            actor=SYSTEM,
            action=AuditEvent.Action.UPDATE,
            obj=world.school,
            path=world.school.path,
            detail={"n": n},
        )
    with django_assert_num_queries(LIST_QUERIES):
        many = client.get(EVENTS, {"page_size": 100}).data["count"]
    assert many == few + 20
