from santong.core.scope import subtree_q
from santong.orgs.models import Region, School


def test_world_builds_with_named_people(world):
    assert world.school.path == "510104/1510104001"
    assert world.teaching_point.path == "510104/1510104001/1510104002"
    assert world.school_class.path == "510104/1510104001/20251301"
    assert world.roles["parent"].child == world.users["student"].person
    assert School.objects.filter(subtree_q("5101")).count() == 3
    assert Region.objects.filter(subtree_q("5101", field="code")).count() > 10
