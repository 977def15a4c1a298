"""Import and export jobs: the SpreadsheetJob row is the progress the page and the API poll.

Small files run inside the request; larger ones go to Celery (tasks.py), which calls the same
run_* functions here.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.customers.choices import JOB_TRANSITIONS, JobKind, JobStatus
from crm.customers.errors import BusinessRuleError
from crm.customers.filtersets import CustomerFilterSet
from crm.customers.models import Customer, SpreadsheetJob
from crm.customers.spreadsheets import (
    error_report_workbook,
    export_customers,
    import_customers,
)

# Above these sizes the work leaves the request for a Celery worker.
SYNC_IMPORT_MAX_ROWS = 500
SYNC_EXPORT_MAX_ROWS = 2000
# The job keeps this many errors for the page; the downloadable report has all of them.
STORED_ERRORS = 500


def _move(job: SpreadsheetJob, status: str, **fields: Any) -> None:
    if status not in JOB_TRANSITIONS[job.status]:
        raise BusinessRuleError(
            "invalid_transition",
            _("A %(from)s job cannot become %(to)s.") % {"from": job.status, "to": status},
        )
    job.status = status
    for name, value in fields.items():
        setattr(job, name, value)
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        job.finished_at = timezone.now()
    job.save()


def _progress_writer(job: SpreadsheetJob):
    def write(done: int, total: int) -> None:
        SpreadsheetJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)

    return write


def _count_rows(upload: UploadedFile) -> int:
    from openpyxl import load_workbook

    upload.seek(0)
    workbook = load_workbook(upload, read_only=True)
    total = max(0, (workbook.worksheets[0].max_row or 1) - 1)
    upload.seek(0)
    return total


def create_import_job(upload: UploadedFile, *, by_user) -> SpreadsheetJob:
    """Store an uploaded .xlsx as a pending import job (nothing is imported yet)."""
    if not by_user.has_perm("customers.add_spreadsheetjob"):
        raise BusinessRuleError("permission_denied", _("You may not import customers."))
    try:
        total = _count_rows(upload)
    except Exception as exc:  # openpyxl raises many types for files that are not workbooks
        raise BusinessRuleError(
            "not_a_workbook", _("The file is not an Excel workbook (.xlsx).")
        ) from exc
    job = SpreadsheetJob(kind=JobKind.IMPORT, created_by=by_user, total_rows=total)
    job.source.save(upload.name or "import.xlsx", upload, save=False)
    job.save()
    return job


def start_import_job(job: SpreadsheetJob) -> SpreadsheetJob:
    """Run a pending import now (small files) or hand it to Celery; returns the fresh job."""
    from crm.customers.tasks import import_customers_task

    if job.kind != JobKind.IMPORT or job.status != JobStatus.PENDING:
        raise BusinessRuleError("job_not_pending", _("This import has already been started."))
    if job.total_rows <= SYNC_IMPORT_MAX_ROWS:
        run_import_job(job.pk)
    else:
        import_customers_task.delay(job.pk)
    job.refresh_from_db()
    return job


def run_import_job(job_id: int) -> None:
    """Import the job's file all-or-nothing; store the outcome and the error report."""
    job = SpreadsheetJob.objects.get(pk=job_id)
    _move(job, JobStatus.RUNNING, processed_rows=0)
    try:
        with job.source.open("rb") as handle:
            result = import_customers(io.BytesIO(handle.read()), progress=_progress_writer(job))
    except Exception as exc:
        job.refresh_from_db()
        _move(job, JobStatus.FAILED, message=str(exc))
        raise
    job.refresh_from_db()
    if result.errors:
        job.result.save(
            f"import-{job.pk}-errors.xlsx",
            ContentFile(error_report_workbook(result.errors)),
            save=False,
        )
        _move(
            job,
            JobStatus.FAILED,
            total_rows=result.total_rows,
            processed_rows=result.total_rows,
            errors=[error.as_dict() for error in result.errors[:STORED_ERRORS]],
            message=_("%(count)d errors: nothing was imported.") % {"count": len(result.errors)},
        )
        return
    _move(
        job,
        JobStatus.SUCCEEDED,
        total_rows=result.total_rows,
        processed_rows=result.total_rows,
        imported_rows=result.imported,
        message=_("%(count)d customers imported.") % {"count": result.imported},
    )


def filtered_customers(query: dict[str, Any] | QueryDict) -> Any:
    """Customers matching the list filter `query` (the same filterset as the list and API)."""
    data = query if isinstance(query, QueryDict) else _as_querydict(query)
    filterset = CustomerFilterSet(data=data, queryset=Customer.objects.all())
    return filterset.qs


def _as_querydict(query: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in query.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def create_export_job(query: QueryDict | dict[str, Any], *, by_user) -> SpreadsheetJob:
    """A pending export of the customers matching `query`."""
    if not by_user.has_perm("customers.add_spreadsheetjob"):
        raise BusinessRuleError("permission_denied", _("You may not export customers."))
    stored = {key: query.getlist(key) for key in query} if isinstance(query, QueryDict) else query
    stored = {key: value for key, value in stored.items() if key not in ("limit", "offset")}
    total = filtered_customers(stored).count()
    return SpreadsheetJob.objects.create(
        kind=JobKind.EXPORT, created_by=by_user, query=stored, total_rows=total
    )


def start_export_job(job: SpreadsheetJob) -> SpreadsheetJob:
    """Run a pending export now (small lists) or hand it to Celery; returns the fresh job."""
    from crm.customers.tasks import export_customers_task

    if job.kind != JobKind.EXPORT or job.status != JobStatus.PENDING:
        raise BusinessRuleError("job_not_pending", _("This export has already been started."))
    if job.total_rows <= SYNC_EXPORT_MAX_ROWS:
        run_export_job(job.pk)
    else:
        export_customers_task.delay(job.pk)
    job.refresh_from_db()
    return job


def run_export_job(job_id: int) -> None:
    """Write the job's filtered customers to its result file."""
    job = SpreadsheetJob.objects.get(pk=job_id)
    _move(job, JobStatus.RUNNING, processed_rows=0)
    buffer = io.BytesIO()
    try:
        written = export_customers(
            filtered_customers(job.query), buffer, progress=_progress_writer(job)
        )
    except Exception as exc:
        job.refresh_from_db()
        _move(job, JobStatus.FAILED, message=str(exc))
        raise
    job.refresh_from_db()
    job.result.save(f"customers-{job.pk}.xlsx", ContentFile(buffer.getvalue()), save=False)
    _move(
        job,
        JobStatus.SUCCEEDED,
        total_rows=written,
        processed_rows=written,
        message=_("%(count)d customers exported.") % {"count": written},
    )
