"""What each role kind is: the unit it binds to, its rank, and whether it administers."""

from santong.accounts.models import Role

K = Role.Kind

ADMIN_KINDS = (K.PROVINCE_ADMIN, K.CITY_ADMIN, K.COUNTY_ADMIN, K.SCHOOL_ADMIN)
CLASS_KINDS = (K.HEAD_TEACHER, K.SUBJECT_TEACHER, K.STUDENT, K.PARENT)
PERSONAL_KINDS = (K.STUDENT, K.PARENT)

# Lower rank is higher up; an administrator grants only roles of its own rank or below.
RANK: dict[str, int] = {
    K.PROVINCE_ADMIN: 1,
    K.CITY_ADMIN: 2,
    K.COUNTY_ADMIN: 3,
    K.SCHOOL_ADMIN: 4,
    K.HEAD_TEACHER: 5,
    K.SUBJECT_TEACHER: 5,
    K.STUDENT: 6,
    K.PARENT: 6,
}

# The region level a regional administrator binds to.
REGION_LEVEL: dict[str, str] = {
    K.PROVINCE_ADMIN: "province",
    K.CITY_ADMIN: "city",
    K.COUNTY_ADMIN: "county",
}


def is_admin_kind(kind: str) -> bool:
    return kind in ADMIN_KINDS


def unit_field(kind: str) -> str:
    """The Role field that names the unit a role of this kind is bound to."""
    if kind in REGION_LEVEL:
        return "region"
    if kind == K.SCHOOL_ADMIN:
        return "school"
    return "school_class"
