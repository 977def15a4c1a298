"""Back-office pages: the customer list (crm:index), history, import and export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm.customers import jobs
from crm.customers.errors import BusinessRuleError
from crm.customers.filtersets import CustomerFilterSet
from crm.customers.forms import ImportUploadForm
from crm.customers.history import customer_history
from crm.customers.models import Customer, CustomFieldDefinition, SpreadsheetJob
from crm.customers.services import screen_pop_fields
from crm.customers.spreadsheets import preview_customer_import

PAGE_SIZE = 50

# The other back-office pages; names not routed (their app is not installed) are left out.
BACK_OFFICE_LINKS = [
    ("records:list", _("Service records")),
    ("records:unfinished", _("My unfinished records")),
    ("coupons:report", _("E-coupons")),
    ("workorders:index", _("Work orders")),
    ("knowledge:index", _("Knowledge base")),
    ("crm:import", _("Import customers")),
]


def _links() -> list[dict[str, str]]:
    links = []
    for name, label in BACK_OFFICE_LINKS:
        try:
            links.append({"url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return links


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    """Back-office landing page: customers with search and filters, links to the other pages."""
    queryset = Customer.objects.select_related("owner").prefetch_related("phones")
    filterset = CustomerFilterSet(request.GET or None, queryset=queryset)
    customers = filterset.qs if filterset.is_bound else queryset
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/index.html",
        {
            "filterset": filterset,
            "page": page,
            "query": query.urlencode(),
            "links": _links(),
            "can_export": request.user.has_perm("customers.add_spreadsheetjob"),
        },
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one customer on one page."""
    customer = get_object_or_404(
        Customer.objects.select_related("owner").prefetch_related("phones"), pk=pk
    )
    definitions = {d.key: d for d in CustomFieldDefinition.objects.all()}
    fields = [
        (
            definitions[key].display_label if key in definitions else key,
            ", ".join(map(str, value)) if isinstance(value, list) else value,
        )
        for key, value in customer.custom_fields.items()
    ]
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "fields": fields,
            "screen_pop": screen_pop_fields(customer),
            "sections": {section.key: section for section in customer_history(customer)},
        },
    )


@login_required
@permission_required("customers.add_spreadsheetjob", raise_exception=True)
def export(request: HttpRequest) -> HttpResponse:
    """The filtered list as .xlsx; a large list becomes a job whose page shows the progress."""
    job = jobs.start_export_job(jobs.create_export_job(request.GET, by_user=request.user))
    if job.result:
        return redirect("crm:job_result", pk=job.pk)
    return redirect("crm:job", pk=job.pk)


@login_required
@permission_required("customers.add_spreadsheetjob", raise_exception=True)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.create_import_job(form.cleaned_data["file"], by_user=request.user)
        except BusinessRuleError as error:
            form.add_error("file", error.message)
        else:
            return redirect("crm:import_preview", pk=job.pk)
    return render(request, "customers/import.html", {"form": form})


def _own_job(request: HttpRequest, pk: int) -> SpreadsheetJob:
    job = get_object_or_404(SpreadsheetJob, pk=pk)
    if not request.user.has_perm("customers.view_spreadsheetjob", job):
        raise Http404
    return job


@login_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The first rows of the upload with their errors, and the button that imports."""
    job = _own_job(request, pk)
    with job.source.open("rb") as handle:
        preview = preview_customer_import(handle)
    has_errors = bool(preview.missing_columns) or any(errors for *_r, errors in preview.rows)
    return render(
        request,
        "customers/import_preview.html",
        {"job": job, "preview": preview, "has_errors": has_errors},
    )


@login_required
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    try:
        jobs.start_import_job(job)
    except BusinessRuleError:
        pass  # already started: the job page shows where it stands
    return redirect("crm:job", pk=job.pk)


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress of an import or export; the page polls the job API until it finishes."""
    job = _own_job(request, pk)
    return render(
        request,
        "customers/job.html",
        {"job": job, "api_url": reverse("customers-api:spreadsheetjob-detail", args=[job.pk])},
    )


@login_required
def job_result(request: HttpRequest, pk: int) -> FileResponse:
    """Download the export, or the error report of a failed import."""
    job = _own_job(request, pk)
    if not job.result:
        raise Http404
    name = job.result.name.rsplit("/", 1)[-1]
    return FileResponse(job.result.open("rb"), as_attachment=True, filename=name)
