"""Scoped reads of people, accounts and roles; each starts from the role's readable `Q`."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from santong.accounts.models import Person, Role, User
from santong.accounts.roles import ADMIN_KINDS, CLASS_KINDS, RANK
from santong.core.scope import subtree_q

NOTHING = Q(pk__in=[])


def roles_of(user: User) -> QuerySet[Role]:
    return (
        Role.objects.filter(user=user)
        .select_related("region", "school", "school_class__school", "subject", "child")
        .order_by("path", "kind")
    )


def default_role(user: User) -> Role | None:
    roles = list(roles_of(user))
    if not roles:
        return None
    return min(roles, key=lambda role: (RANK[role.kind], role.path))


def active_role_for(user: User, role_id: int | str | None) -> Role | None:
    """The role `user` acts in: the one asked for if it is theirs, else their highest one."""
    if role_id:
        try:
            return roles_of(user).get(pk=int(role_id))
        except (Role.DoesNotExist, ValueError):
            return None
    return default_role(user)


def readable_roles_q(role: Role) -> Q:
    """Roles `role` may see: all below its unit for administrators, its own otherwise."""
    if role.kind in ADMIN_KINDS:
        return subtree_q(role.path)
    if role.kind in (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER):
        return subtree_q(role.path)
    return Q(user_id=role.user_id)


def readable_people_q(role: Role) -> Q:
    """People `role` may see: anyone holding a role it can see, plus its own person and child."""
    visible = Role.objects.filter(readable_roles_q(role), user__person=OuterRef("pk"))
    q = Q(Exists(visible))
    if role.kind in CLASS_KINDS:
        q |= Q(account__id=role.user_id)
        if role.child_id:
            q |= Q(pk=role.child_id)
    return q


def people(*, role: Role) -> QuerySet[Person]:
    return Person.objects.filter(readable_people_q(role)).order_by("name", "pk")


def accounts(*, role: Role) -> QuerySet[User]:
    """Accounts an administrator manages: those holding a role inside its subtree."""
    if role.kind not in ADMIN_KINDS:
        return User.objects.filter(NOTHING)
    visible = Role.objects.filter(subtree_q(role.path), user=OuterRef("pk"))
    return User.objects.filter(Exists(visible)).select_related("person").order_by("username")


def roles(*, role: Role) -> QuerySet[Role]:
    return (
        Role.objects.filter(readable_roles_q(role))
        .select_related(
            "user__person", "region", "school", "school_class__school", "subject", "child"
        )
        .order_by("path", "kind", "pk")
    )


def person_unit_path(*, role: Role, person: Person) -> str:
    """Where `person` sits inside `role`'s scope: the unit of a role they hold that `role` can
    see, so an audit row about them reaches the administrators above that unit."""
    path = (
        Role.objects.filter(readable_roles_q(role), user__person=person)
        .order_by("path")
        .values_list("path", flat=True)
        .first()
    )
    return path if path is not None else role.path


def login_account(identifier: str) -> User | None:
    """The account a login form names, by username or phone number (not scoped: no role yet)."""
    if not identifier:
        return None
    return User.objects.filter(Q(username=identifier) | Q(phone=identifier)).first()
