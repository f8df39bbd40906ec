"""Import jobs over the API: upload (multipart) with options and a mapping, list and read in
scope, the report download, and the refusals."""

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from santong.accounts.identity import make_resident_id
from santong.audit.models import AuditEvent
from santong.imports import jobs
from santong.imports.models import ImportJob
from santong.registry.models import StudentRecord

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/import-jobs/"
HEADER = ["学校标识码", "姓名", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]


def roster(n: int, *, header: list[str] | None = None) -> bytes:
    rows = [list(header or HEADER)] + [
        [
            "1510104001",
            f"学生{i}",
            "男",
            make_resident_id("510104", date(2016, 3, 1) + timedelta(days=i), i % 400, True),
            "汉族",
            "三年级",
            "1班",
            "非农业户口",
        ]
        for i in range(n)
    ]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


@pytest.fixture
def jobs_run_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "dispatch", lambda job_id: jobs.run_job(job_id))


def post(client: APIClient, content: bytes, name: str = "名单.csv", **fields: object):
    return client.post(
        JOBS,
        {"kind": "students", "file": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


def test_an_upload_runs_and_its_job_and_report_can_be_read(
    api, world, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    client = api("county_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, roster(3) + "1510104001,坏行,男,123,汉族,三年级,1班,\n".encode())
    assert response.status_code == 201, response.data
    assert response.data["status"] == "queued"
    assert response.data["kind"] == "students"
    job_id = response.data["id"]

    detail = client.get(f"{JOBS}{job_id}/")
    assert detail.status_code == 200
    data = detail.data
    assert data["status"] == "succeeded", data["message"]
    assert (data["rows_read"], data["rows_created"], data["rows_rejected"]) == (4, 3, 1)
    assert data["rows_imported"] == 3
    assert data["has_report"] is True
    assert data["needs_mapping"] is False
    assert data["created_by"] == world.users["county_admin"].person.name
    assert StudentRecord.objects.count() == 3

    listed = client.get(JOBS, {"kind": "students", "status": "succeeded"})
    assert [row["id"] for row in listed.data["results"]] == [job_id]

    report = client.get(f"{JOBS}{job_id}/report/")
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert any("坏行" in row for row in rows)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT, object_type="importjob", object_id=str(job_id)
    ).exists()


def test_a_mapping_given_with_the_upload_is_used(
    api, world, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    header = ["学校标识码", "名字", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]
    client = api("school_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, roster(2, header=header), mapping='{"名字": "name"}')
    assert response.status_code == 201, response.data
    job = ImportJob.objects.get(pk=response.data["id"])
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.rows_created == 2
    assert job.options["school"] == world.school.code


def test_without_a_mapping_the_job_stops_at_the_mapping_step(
    api, jobs_run_now, django_capture_on_commit_callbacks
) -> None:
    header = ["学校标识码", "名字", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]
    client = api("county_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, roster(2, header=header))
    data = client.get(f"{JOBS}{response.data['id']}/").data
    assert data["status"] == "failed"
    assert data["needs_mapping"] is True
    assert data["header_mapping"]["missing"] == ["姓名"]
    assert data["header_mapping"]["unknown"] == ["名字"]
    assert data["has_report"] is False
    assert client.get(f"{JOBS}{response.data['id']}/report/").status_code == 404


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"mapping": '{"没有这列": "name"}'}, {"mapping": ["文件的表头中没有“没有这列”列。"]}),
        ({"mapping": '{"名字": null}'}, {"mapping": ["缺少必填列：姓名"]}),
        ({"mapping": "[1, 2]"}, None),
        ({"kind": "nothing"}, None),
        ({"strict": "maybe"}, None),
        ({"school": 999999}, {"school": ["对象不存在。"]}),
    ],
)
def test_bad_uploads_are_refused_naming_the_field(api, media_root, fields, errors) -> None:
    header = ["学校标识码", "名字", "性别", "身份证件号", "民族", "年级", "班级", "户口性质"]
    before = ImportJob.objects.count()
    response = post(api("county_admin"), roster(1, header=header), **fields)
    assert response.status_code == 400, response.data
    if errors is not None:
        assert response.data == errors
    else:
        assert set(response.data) == set(fields)
    assert ImportJob.objects.count() == before
    stored = [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []
    assert stored == [], "a refused upload must not leave its file behind"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.txt", b"x,y\n", "类型不支持"),
        ("a.csv", b"", "空文件"),
        ("a.csv", b"x" * 100, "文件过大"),
    ],
)
def test_bad_files_are_refused(api, settings, name, content, reason) -> None:
    settings.SANTONG_IMPORT_MAX_BYTES = 50
    response = post(api("county_admin"), content, name=name)
    assert response.status_code == 400, response.data
    assert list(response.data) == ["file"]
    assert reason in response.data["file"][0]
    assert ImportJob.objects.count() == 0


def test_a_json_body_is_refused(api) -> None:
    response = api("county_admin").post(JOBS, {"kind": "students"}, format="json")
    assert response.status_code == 415


def test_scope_of_uploads_and_jobs(api, world) -> None:
    outside = post(api("county_admin"), roster(1), school=world.far_school.pk)
    assert outside.status_code == 400
    assert outside.data == {"school": ["对象不存在。"]}
    assert post(api("head_teacher"), roster(1)).status_code == 403
    assert post(api("school_admin"), roster(1), kind="schools").status_code == 400

    mine = post(api("school_admin"), roster(1))
    assert mine.status_code == 201
    job_id = mine.data["id"]
    for key in ("school_admin", "county_admin", "city_admin", "province_admin"):
        assert api(key).get(f"{JOBS}{job_id}/").status_code == 200, key
    for key in ("other_county_admin", "head_teacher", "student"):
        assert api(key).get(f"{JOBS}{job_id}/").status_code == 404, key
        assert api(key).get(JOBS).data["results"] == [], key


def test_the_job_list_reads_in_a_fixed_number_of_queries(
    api, world, django_assert_max_num_queries
) -> None:
    client = api("school_admin")
    for _ in range(12):
        assert post(client, roster(1)).status_code == 201
    county = api("county_admin")
    with django_assert_max_num_queries(6):
        response = county.get(JOBS)
    assert response.data["count"] == 12
