"""Celery tasks of the customers app: the background half of large imports and exports."""

from celery import shared_task

from crm.customers import jobs


@shared_task(name="crm.customers.import_customers")
def import_customers_task(job_id: int) -> None:
    """Run a customer import job (progress on the SpreadsheetJob row)."""
    jobs.run_import_job(job_id)


@shared_task(name="crm.customers.export_customers")
def export_customers_task(job_id: int) -> None:
    """Run a customer export job (progress on the SpreadsheetJob row)."""
    jobs.run_export_job(job_id)
