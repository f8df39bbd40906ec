"""Import jobs in the background: a thread on the embedded default, Celery (eager and on a real
Redis broker with a worker), and a real process killed mid-import and run again."""

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from django.db import connection, transaction

from santong.celery import app as celery_app
from santong.imports import jobs, services
from santong.imports.models import ImportJob
from santong.orgs.models import School

CLEAN = [
    ["学校标识码", "学校名称", "学校类型", "办学类型", "城乡类型", "所属区县"],
    ["1510104701", "锦江区第七十小学", "小学", "公办", "城区", "锦江区"],
    ["1510104702", "锦江区第七十一小学", "小学", "公办", "城区", "锦江区"],
]


def write_csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def wait_for(job_id: int, timeout: float = 60.0) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job_id)
        if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_job_runs_in_a_background_thread(
    world, county_actor, tmp_path, settings
):
    settings.CELERY_BROKER_URL = ""
    path = write_csv(tmp_path / "clean.csv", CLEAN)
    with transaction.atomic():
        job = services.create_import_job(
            actor=county_actor, kind="schools", options={}, source_path=path
        )
        jobs.start_job(job)
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED

    # Joined, not polled: on the in-memory SQLite test database (shared cache, table locks, no
    # busy timeout) a read while the job thread writes makes that write fail at once.
    for thread in threading.enumerate():
        if thread.name == f"import-job-{job.pk}":
            thread.join(timeout=60)
            assert not thread.is_alive()
    done = ImportJob.objects.get(pk=job.pk)

    assert done.status == ImportJob.Status.SUCCEEDED
    assert done.rows_created == 2
    assert done.worker.endswith(f":{os.getpid()}")
    assert School.objects.filter(code__in=["1510104701", "1510104702"]).count() == 2


def forget_connections() -> None:
    """The app caches its connection pool and producer pool on first use (even an eager call
    acquires a producer), so each test's broker must start from none."""
    celery_app.close()
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def celery_conf():
    """The app's configuration, restored afterwards, with no connection kept across tests."""
    keys = ("task_always_eager", "broker_url", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    forget_connections()
    yield celery_app.conf
    forget_connections()
    celery_app.conf.update(saved)


def test_with_a_broker_the_job_is_a_celery_task_eager(
    world, county_actor, tmp_path, settings, celery_conf, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = "memory://"
    celery_conf.task_always_eager = True
    path = write_csv(tmp_path / "clean.csv", CLEAN)
    job = services.create_import_job(
        actor=county_actor, kind="schools", options={}, source_path=path
    )

    with django_capture_on_commit_callbacks(execute=True):
        jobs.start_job(job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.rows_created == 2


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_on_redis_runs_the_job(
    world, county_actor, tmp_path, settings, celery_conf, monkeypatch
):
    from celery.contrib.testing.worker import start_worker

    # The worker would run Django's system checks on start; the suite checks those elsewhere.
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")

    queue = f"santong-test-{uuid.uuid4().hex[:12]}"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/11"
    celery_conf.update(
        broker_url=settings.CELERY_BROKER_URL, task_always_eager=False, task_default_queue=queue
    )
    path = write_csv(tmp_path / "clean.csv", CLEAN)

    with start_worker(
        celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10
    ):
        with transaction.atomic():
            job = services.create_import_job(
                actor=county_actor, kind="schools", options={}, source_path=path
            )
            jobs.start_job(job)
        done = wait_for(job.pk, timeout=60)

    assert done.status == ImportJob.Status.SUCCEEDED
    assert done.rows_created == 2
    assert School.objects.filter(code="1510104702").exists()


# --------------------------------------------------------------------------- the kill test


@contextmanager
def scratch(tmp_path, name="kill", *, copy_of=None):
    """A database of its own for subprocesses, as (url, query): a SQLite file, or a new
    PostgreSQL database; with `copy_of`, a copy of that scratch database (made while no
    process is using it)."""
    if connection.vendor == "sqlite":
        path = tmp_path / f"{name}.sqlite3"
        if copy_of is not None:
            source = sqlite3.connect(copy_of.removeprefix("sqlite:///"))
            with closing(source), closing(sqlite3.connect(path)) as target:
                source.backup(target)
        yield f"sqlite:///{path}", lambda sql: sqlite3.connect(path).execute(sql).fetchone()
        return
    url = urlparse(os.environ["DATABASE_URL"])
    name = f"santong_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = url._replace(path="/postgres").geturl()
    template = f' TEMPLATE "{urlparse(copy_of).path[1:]}"' if copy_of is not None else ""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{template}')
    target = url._replace(path=f"/{name}").geturl()

    def query(sql):
        with psycopg.connect(target) as conn:
            return conn.execute(sql).fetchone()

    try:
        yield target, query
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_database(tmp_path):
    with scratch(tmp_path) as database:
        yield database


def santong(env, *args, **kwargs):
    """`santong ARGS` in a process of its own (system checks are the suite's job elsewhere)."""
    return subprocess.Popen(
        [sys.executable, "-m", "santong", *args, "--skip-checks"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_process_killed_mid_import_then_run_again_completes_without_duplicates(
    scratch_database, tmp_path
):
    url, query = scratch_database
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "santong.settings.test",
        "SANTONG_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    for command in (["migrate", "-v0"], ["loadregions", "--province", "51"]):
        done = santong(env, *command)
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
    total, bad_every = 6000, 97
    rows = [["学校标识码", "学校名称", "学校类型", "办学类型", "城乡类型", "所属区县"]]
    for n in range(total):
        kind = "初中" if n % bad_every == 0 else "小学"  # a known share of bad rows
        rows.append([f"19{n:08d}", f"测试学校{n}", kind, "公办", "城区", "锦江区"])
    path = write_csv(tmp_path / "big.csv", rows)
    expected = total - len(range(0, total, bad_every))
    command = ["import", "schools", str(path), "--batch-size", "100", "-v0"]

    victim = santong(env, *command)
    deadline = time.monotonic() + 120
    committed = -1
    while time.monotonic() < deadline and victim.poll() is None:
        row = query("SELECT MAX(last_committed_batch) FROM imports_importjob")
        committed = row[0] if row and row[0] is not None else -1
        if committed >= 5:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    status, last = query("SELECT status, last_committed_batch FROM imports_importjob")
    landed = query("SELECT COUNT(*) FROM orgs_school WHERE code LIKE '19%'")[0]
    assert status == "running"
    assert last >= 5
    good_per_batch = [
        sum(1 for n in range(b * 100, min(total, b * 100 + 100)) if n % bad_every)
        for b in range((total + 99) // 100)
    ]
    assert landed == sum(good_per_batch[: last + 1])  # whole batches, nothing half-written

    again = santong(env, *command)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "继续未完成的导入任务" in err

    assert query("SELECT COUNT(*) FROM orgs_school WHERE code LIKE '19%'")[0] == expected
    assert (
        query("SELECT COUNT(DISTINCT code) FROM orgs_school WHERE code LIKE '19%'")[0] == expected
    )
    assert query("SELECT status, rows_rejected FROM imports_importjob") == (
        "succeeded",
        total - expected,
    )
    assert query("SELECT COUNT(*) FROM imports_importissue WHERE severity = 'error'")[0] == (
        total - expected
    )

    third = santong(env, *command)
    out, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert f"导入 {expected}（新增 0，更新 0，未变化 {expected}）" in out
