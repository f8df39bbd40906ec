"""Web imports: the job list, templates, the upload with its refusals, the column-mapping step,
progress, the result page with its report and activation class list, and who sees which job."""

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from santong.accounts.identity import make_resident_id
from santong.accounts.middleware import SESSION_KEY
from santong.accounts.models import Role
from santong.audit.models import AuditEvent
from santong.imports import jobs, services
from santong.imports.models import ImportJob
from santong.registry.models import StudentRecord
from santong.testing.world import World, make_account

pytestmark = pytest.mark.django_db

HEADER = ["学校标识码", "姓名", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def student_id(n: int) -> str:
    return make_resident_id("510104", date(2016, 3, 1) + timedelta(days=n), n % 400, True)


def roster(n: int, *, school: str = "1510104001") -> list[list[str]]:
    return [list(HEADER)] + [
        [school, f"学生{i}", "男", student_id(i), "汉族", "三年级", f"{i % 2 + 1}班", "非农业户口"]
        for i in range(n)
    ]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("学生")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return out.getvalue()


def logged_in(world: World, key: str) -> Client:
    client = Client()
    client.force_login(world.users[key])
    session = client.session
    session[SESSION_KEY] = world.roles[key].pk
    session.save()
    return client


@pytest.fixture
def browse(world: World) -> Callable[[str], Client]:
    """`browse("county_admin")`: a client logged in as that person, acting in that role."""
    return lambda key: logged_in(world, key)


@pytest.fixture
def jobs_run_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """A started job runs in the request's thread once its transaction commits, so a test
    sees it finished (the background thread is tested in test_jobs)."""
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: jobs.run_job(job_id))


def upload(
    client: Client, kind: str, name: str, content: bytes, **fields: object
) -> tuple[object, ImportJob | None]:
    before = set(ImportJob.objects.values_list("pk", flat=True))
    response = client.post(
        f"/imports/{kind}/upload/", {"file": SimpleUploadedFile(name, content), **fields}
    )
    created = ImportJob.objects.exclude(pk__in=before).first()
    return response, created


def upload_and_run(
    client: Client, capture: Callable[..., object], kind: str, name: str, content: bytes, **kw
) -> ImportJob:
    with capture(execute=True):  # type: ignore[attr-defined]
        response, job = upload(client, kind, name, content, **kw)
    assert response.status_code == 302, response.content.decode()[:2000]  # type: ignore[attr-defined]
    assert job is not None
    assert response["Location"] == f"/imports/jobs/{job.pk}/"  # type: ignore[index]
    job.refresh_from_db()
    return job


def test_the_import_home_offers_each_kind_and_an_empty_state(browse) -> None:
    page = browse("county_admin").get("/imports/")
    html = page.content.decode()
    assert page.status_code == 200
    for kind in ("schools", "students", "teachers", "parents"):
        assert f'href="/imports/{kind}/upload/"' in html
        assert f'href="/imports/{kind}/template/"' in html
    assert "还没有导入任务" in html

    school_page = browse("school_admin").get("/imports/").content.decode()
    assert 'href="/imports/students/upload/"' in school_page
    assert "/imports/schools/" not in school_page
    assert browse("school_admin").get("/imports/schools/upload/").status_code == 404


def test_class_roles_have_no_import_pages(browse) -> None:
    for key in ("head_teacher", "student"):
        assert browse(key).get("/imports/").status_code == 403
        assert browse(key).get("/imports/students/upload/").status_code == 403


@pytest.mark.parametrize("kind", ["schools", "students", "teachers", "parents"])
def test_each_template_downloads_with_its_chinese_headers(browse, kind: str) -> None:
    response = browse("county_admin").get(f"/imports/{kind}/template/")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    headers = [cell.value for cell in next(book.worksheets[0].iter_rows(max_row=1))]
    assert "姓名" in "".join(str(h) for h in headers) or "学校名称" in headers


def test_a_template_download_is_audited_as_an_export(browse, world: World) -> None:
    response = browse("school_admin").get("/imports/students/template/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == world.users["school_admin"]
    assert event.actor_role == str(world.roles["school_admin"])
    assert event.path == world.school.path
    assert (event.object_type, event.object_id) == ("", "students")
    assert event.object_repr == "学生导入模板"
    assert event.detail == {"template": "students"}
    assert event.outcome == AuditEvent.Outcome.OK

    county = browse("county_admin").get("/imports/schools/template/")
    assert county.status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT,
        actor=world.users["county_admin"],
        path=world.county.path,
        object_id="schools",
    ).exists()

    assert browse("school_admin").get("/imports/schools/template/").status_code == 404
    assert browse("head_teacher").get("/imports/students/template/").status_code == 403
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 2


def test_a_template_the_actor_may_not_import_is_neither_written_nor_audited(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "schools.xlsx"
    with pytest.raises(ValidationError):
        services.download_template(actor=world.actor("school_admin"), kind="schools", out=out)
    with pytest.raises(PermissionDenied):
        services.download_template(actor=world.actor("head_teacher"), kind="students", out=out)
    assert not out.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_student_csv_goes_from_upload_to_result(
    browse, world: World, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("school_admin")
    rows = roster(5)
    rows.append(["1510104001", "坏号码", "男", "510104201603019999", "汉族", "三年级", "1班", ""])
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "名单.csv", csv_bytes(rows)
    )

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_read, job.rows_created, job.rows_rejected) == (6, 5, 1)
    assert job.options["school"] == "1510104001"  # a school administrator imports into its own
    assert job.created_by == world.users["school_admin"]
    assert StudentRecord.objects.filter(person__name__startswith="学生").count() == 5
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, object_type="importjob", object_id=str(job.pk)
    ).exists()

    page = client.get(f"/imports/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-count="created">5<' in html
    assert 'data-count="rejected">1<' in html
    assert "坏号码" not in html  # the rejected rows table names row, column, value, reason
    assert "510104201603019999" in html
    assert ">7<" in html  # row 7 of the file (the header is row 1)
    assert f'href="/imports/jobs/{job.pk}/report/"' in html
    assert "账号激活名单" in html

    report = client.get(f"/imports/jobs/{job.pk}/report/")
    assert report.status_code == 200
    assert report["Content-Type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    values = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    assert any("坏号码" in row for row in values)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT, object_type="importjob", object_id=str(job.pk)
    ).exists()


def test_an_xlsx_and_a_gb18030_csv_import_the_same(
    browse, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("county_admin")
    first = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "名单.xlsx", xlsx_bytes(roster(4))
    )
    assert first.status == ImportJob.Status.SUCCEEDED, first.message
    assert (first.rows_created, first.rows_rejected) == (4, 0)
    assert "options" not in first.options
    assert "school" not in first.options  # a county administrator left it to the file's column

    again = upload_and_run(
        client,
        django_capture_on_commit_callbacks,
        "students",
        "名单-excel导出.csv",
        csv_bytes(roster(4), encoding="gb18030"),
    )
    assert again.status == ImportJob.Status.SUCCEEDED, again.message
    assert (again.rows_created, again.rows_unchanged, again.rows_rejected) == (0, 4, 0)
    assert StudentRecord.objects.filter(person__name__startswith="学生").count() == 4


def test_headers_that_do_not_match_go_through_the_mapping_step(
    browse, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("school_admin")
    rows = roster(3)
    rows[0] = [
        "学校标识码",
        "名字",
        "性别",
        "身份证件号",
        "民族",
        "年级",
        "班级",
        "户口性质",
        "家庭住址",
    ]
    for row in rows[1:]:
        row.append("东大街1号")
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "改过表头.csv", csv_bytes(rows)
    )
    assert job.status == ImportJob.Status.FAILED
    assert StudentRecord.objects.count() == 0

    detail = client.get(f"/imports/jobs/{job.pk}/")
    assert detail.status_code == 302
    assert detail["Location"] == f"/imports/jobs/{job.pk}/mapping/"
    status = client.get(f"/imports/jobs/{job.pk}/status/").json()
    assert status["needs_mapping"] is True

    page = client.get(f"/imports/jobs/{job.pk}/mapping/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "缺少必填列：姓名" in html
    form = page.context["form"]
    assert form["column_1"].initial == "name"  # 名字 looks like 姓名
    assert form["column_8"].initial == ""  # 家庭住址 looks like nothing: not imported
    assert "已自动识别" in html

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/imports/jobs/{job.pk}/mapping/", {"column_1": "name", "column_8": ""}
        )
    assert answer.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_created, job.rows_rejected) == (3, 0)
    assert StudentRecord.objects.filter(person__name__startswith="学生").count() == 3
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.UPDATE, object_type="importjob", object_id=str(job.pk)
    ).exists()
    assert client.get(f"/imports/jobs/{job.pk}/mapping/").status_code == 302


def test_a_mapping_that_leaves_a_required_column_missing_is_shown_again(
    browse, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("school_admin")
    rows = roster(2)
    rows[0][1] = "名字"
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "a.csv", csv_bytes(rows)
    )
    response = client.post(f"/imports/jobs/{job.pk}/mapping/", {"column_1": ""})
    assert response.status_code == 400
    assert "缺少必填列：姓名" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("名单.txt", b"a,b\n", "类型不支持"),
        ("名单.csv", b"", "空文件"),
        ("名单.xlsx", b"x" * 64, "文件过大"),
    ],
)
def test_bad_files_are_refused_on_the_form(
    browse, settings, name: str, content: bytes, message: str
) -> None:
    settings.SANTONG_IMPORT_MAX_BYTES = 32
    response, job = upload(browse("county_admin"), "students", name, content)
    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert message in html
    assert "invalid-feedback" in html
    assert job is None


def test_an_unreadable_file_fails_its_job_with_the_reason(
    browse, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("county_admin")
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "坏文件.xlsx", b"not a zip" * 10
    )
    assert job.status == ImportJob.Status.FAILED
    html = client.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "导入未完成" in html
    assert job.message in html


def test_a_dry_run_writes_nothing_and_says_so(
    browse, world, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("county_admin")
    job = upload_and_run(
        client,
        django_capture_on_commit_callbacks,
        "students",
        "a.csv",
        csv_bytes(roster(3)),
        dry_run="on",
        school=world.school.code,
    )
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.options == {"dry_run": True, "strict": False, "school": "1510104001"} | {
        k: job.options[k] for k in ("ignore_unknown", "batch_size")
    }
    assert job.rows_created == 3
    assert StudentRecord.objects.count() == 0
    html = client.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "试运行" in html
    assert "账号激活名单" not in html


def test_a_queued_job_shows_its_progress_page(browse, world: World) -> None:
    client = browse("county_admin")
    _response, job = upload(client, "students", "a.csv", csv_bytes(roster(2)))
    assert job is not None
    assert job.status == ImportJob.Status.QUEUED
    page = client.get(f"/imports/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-status-url="/imports/jobs/{job.pk}/status/"' in html
    assert '<meta http-equiv="refresh"' in html
    status = client.get(f"/imports/jobs/{job.pk}/status/").json()
    assert status == {
        "id": job.pk,
        "status": "queued",
        "status_label": "排队中",
        "finished": False,
        "needs_mapping": False,
        "rows_read": 0,
        "rows_estimated": None,
        "rows_imported": 0,
        "rows_rejected": 0,
        "message": "",
        "url": f"/imports/jobs/{job.pk}/",
    }


def test_a_county_administrator_may_not_import_into_another_county(browse, world) -> None:
    response, job = upload(
        browse("county_admin"),
        "students",
        "a.csv",
        csv_bytes(roster(1)),
        school=world.far_school.code,
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "不在您的管理范围内" in response.content.decode()  # type: ignore[attr-defined]
    assert job is None


def test_a_school_administrators_rows_for_another_school_are_rejected(
    browse, world, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    job = upload_and_run(
        browse("school_admin"),
        django_capture_on_commit_callbacks,
        "students",
        "a.csv",
        csv_bytes(roster(2, school=world.other_school.code)),
    )
    assert job.rows_created == 0
    assert job.rows_rejected == 2
    assert StudentRecord.objects.count() == 0


def test_a_job_is_seen_by_its_owner_and_the_administrators_above(browse, world) -> None:
    _response, job = upload(browse("school_admin"), "students", "a.csv", csv_bytes(roster(1)))
    assert job is not None
    make_account(world, "school_admin_2", "郭敏", Role.Kind.SCHOOL_ADMIN, school=world.school)
    colleague_client = logged_in(world, "school_admin_2")

    for key in ("school_admin", "county_admin", "city_admin", "province_admin"):
        assert browse(key).get(f"/imports/jobs/{job.pk}/").status_code == 200, key
        assert f"/imports/jobs/{job.pk}/" in browse(key).get("/imports/").content.decode()
    for path in ("", "status/", "mapping/", "report/"):
        assert colleague_client.get(f"/imports/jobs/{job.pk}/{path}").status_code == 404
    assert f"/imports/jobs/{job.pk}/" not in colleague_client.get("/imports/").content.decode()

    county_job = ImportJob.objects.create(
        kind="students",
        source_name="县里的.csv",
        path=world.county.path,
        created_by=world.users["county_admin"],
    )
    assert browse("school_admin").get(f"/imports/jobs/{county_job.pk}/").status_code == 404
    assert browse("city_admin").get(f"/imports/jobs/{county_job.pk}/").status_code == 200


def _xlsx_names(body: bytes) -> set[object]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return {c for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row}


@pytest.mark.parametrize(("kind", "content_type"), [("xlsx", XLSX), ("pdf", "application/pdf")])
def test_the_class_list_hands_out_activation_codes(
    browse, world, jobs_run_now, django_capture_on_commit_callbacks, kind, content_type
) -> None:
    client = browse("school_admin")
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "a.csv", csv_bytes(roster(3))
    )
    url = f"/imports/jobs/{job.pk}/class-list/"

    response = client.post(url, {"school": world.school.code, "format": kind})
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    if kind == "pdf":
        assert body.startswith(b"%PDF")
    else:
        assert {"学生0", "学生1", "学生2"} <= _xlsx_names(body)
    assert AuditEvent.objects.filter(detail__activation_codes=3).count() == 1

    refused = client.post(url, {"school": world.other_school.code, "format": kind})
    assert refused.status_code == 302
    assert refused["Location"] == f"/imports/jobs/{job.pk}/"
    outsider = browse("other_school_admin").post(url, {"school": world.school.code, "format": kind})
    assert outsider.status_code == 404
    assert AuditEvent.objects.filter(detail__activation_codes__gte=1).count() == 1


def test_the_job_list_reads_in_a_fixed_number_of_queries(
    browse, world, django_assert_max_num_queries
) -> None:
    actor = world.actor("school_admin")
    path = Path(__file__)
    for _ in range(30):
        services.create_import_job(actor=actor, kind="students", options={}, source_path=path)
    client = browse("county_admin")
    client.get("/imports/")
    with django_assert_max_num_queries(7):
        page = client.get("/imports/")
    assert page.content.decode().count('href="/imports/jobs/') == 30


def test_the_mapping_step_asks_only_about_unknown_columns_and_settles_duplicates(
    browse, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = browse("school_admin")
    rows = roster(2)
    rows[0][1] = "名字"
    rows[0] += ["备注", "证件号码"]
    for row in rows[1:]:
        row += ["转学生", row[3]]
    job = upload_and_run(
        client, django_capture_on_commit_callbacks, "students", "a.csv", csv_bytes(rows)
    )
    page = client.get(f"/imports/jobs/{job.pk}/mapping/")
    form = page.context["form"]
    assert list(form.fields) == ["column_1"]  # 备注 carries no data; 证件号码 repeats a column
    assert "重复的列：身份证件号" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/jobs/{job.pk}/mapping/", {"column_1": "name"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.rows_created == 2
