"""The Celery task that runs an import job on a worker (when a broker is configured)."""

from santong.celery import app
from santong.imports.jobs import run_job


@app.task(name="santong.imports.run_import_job", acks_late=True)
def run_import_job(job_id: int) -> str:
    return str(run_job(job_id).status)
