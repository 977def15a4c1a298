"""Excel import (preview, all-or-nothing, task with progress) and export of a filtered list."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from crm.customers import jobs
from crm.customers.choices import FieldType, JobStatus, VipLevel
from crm.customers.models import Customer, CustomerPhone, SpreadsheetJob
from crm.customers.services import create_customer
from crm.customers.spreadsheets import import_customers, preview_customer_import
from tests.crm.customers.factories import FieldFactory

pytestmark = pytest.mark.django_db


def workbook_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(rows, name="customers.xlsx"):
    return SimpleUploadedFile(name, workbook_bytes(rows))


@pytest.fixture
def gender():
    return FieldFactory(
        key="gender",
        label="性别",
        label_en="Gender",
        field_type=FieldType.CHOICE,
        choices=["男", "女"],
    )


HEADER = ["姓名", "电话号码", "VIP等级", "性别", "备注栏"]


def test_preview_shows_first_rows_with_row_numbers_and_field_names(gender):
    with translation.override("en"):
        preview = preview_customer_import(
            io.BytesIO(
                workbook_bytes(
                    [
                        ["name", "phones", "Gender", "unknown column"],
                        ["张三", "13800138000", "男", "x"],
                        ["", "12345", "未知", "y"],
                        ["王五", "13900139000", "女", "z"],
                    ]
                )
            ),
            limit=2,
        )
    assert preview.total_rows == 3
    assert preview.ignored_columns == ["unknown column"]
    assert [row for row, _cells, _errors in preview.rows] == [2, 3]
    assert preview.rows[0][2] == []
    errors = {(error.row, error.field) for error in preview.rows[1][2]}
    assert errors == {(3, "Name"), (3, "Phone numbers"), (3, "Gender")}


def test_one_bad_row_imports_nothing_and_reports_rows(gender):
    create_customer(name="老客户", phones=["13700137000"])
    rows = [
        ["name", "phones", "vip_level", "gender"],
        ["张三", "13800138000, 010-62345678", "gold", "男"],
        ["李四", "13900139000", "diamond", "女"],
        ["王五", "+86 138 0013 8000", "", ""],
        ["赵六", "13700137000", "", "男"],
    ]
    with translation.override("en"):
        result = import_customers(io.BytesIO(workbook_bytes(rows)))
    assert result.imported == 0
    found = [(error.row, error.field) for error in result.errors]
    assert found == [(3, "VIP level"), (4, "Phone numbers"), (5, "Phone numbers")]
    assert "row 2" in result.errors[1].message
    assert Customer.objects.count() == 1


def test_good_file_imports_every_row_with_numbers_and_fields(gender):
    rows = [
        ["姓名", "电话号码", "VIP等级", "性别", "地区"],
        ["张三", "13800138000；62345678", "金卡", "男", "北京"],
        ["李四", 13900139000, "", "女", ""],
        [None, None, None, None, None],
    ]
    result = import_customers(io.BytesIO(workbook_bytes(rows)))
    assert (result.imported, result.errors) == (2, [])
    zhang = Customer.objects.get(name="张三")
    assert zhang.vip_level == VipLevel.GOLD
    assert zhang.custom_fields == {"gender": "男"}
    assert zhang.region == "北京"
    assert set(zhang.phones.values_list("number", flat=True)) == {
        "+8613800138000",
        "+861062345678",
    }
    assert CustomerPhone.objects.get(number="+8613900139000").customer.name == "李四"


def test_missing_required_column_is_reported(gender):
    gender.required = True
    gender.save()
    result = import_customers(io.BytesIO(workbook_bytes([["姓名"], ["张三"]])))
    assert result.imported == 0
    assert [(error.row, error.field) for error in result.errors] == [(1, "性别")]


def test_failed_job_keeps_errors_and_a_downloadable_report(make_user, gender):
    user = make_user("bo", "backoffice")
    job = jobs.create_import_job(
        upload([["姓名", "性别"], ["张三", "男"], ["李四", "外星"]]), by_user=user
    )
    job = jobs.start_import_job(job)
    assert job.status == JobStatus.FAILED
    assert job.errors == [{"row": 3, "field": "性别", "message": job.errors[0]["message"]}]
    report = load_workbook(io.BytesIO(job.result.read()))
    rows = list(report.active.iter_rows(values_only=True))
    assert rows[1][:2] == (3, "性别")
    assert Customer.objects.count() == 0


def test_large_import_runs_as_a_task_with_progress(make_user, eager_celery, monkeypatch):
    monkeypatch.setattr(jobs, "SYNC_IMPORT_MAX_ROWS", 10)
    monkeypatch.setattr("crm.customers.spreadsheets.PROGRESS_EVERY", 50)
    user = make_user("bo", "backoffice")
    rows = [["name", "phones"]] + [[f"客户{i}", f"+8613{i:09d}"] for i in range(300)]
    job = jobs.create_import_job(upload(rows), by_user=user)
    assert job.total_rows == 300

    seen = []
    real_writer = jobs._progress_writer

    def spy(job_row):
        write = real_writer(job_row)

        def record(done, total):
            write(done, total)
            seen.append(SpreadsheetJob.objects.get(pk=job_row.pk).processed_rows)

        return record

    monkeypatch.setattr(jobs, "_progress_writer", spy)
    delays = []
    original_delay = type(eager_celery.tasks["crm.customers.import_customers"]).delay

    def counting_delay(task, *args, **kwargs):
        delays.append(args)
        return original_delay(task, *args, **kwargs)

    monkeypatch.setattr(
        type(eager_celery.tasks["crm.customers.import_customers"]), "delay", counting_delay
    )
    job = jobs.start_import_job(job)
    assert delays == [(job.pk,)]
    assert job.status == JobStatus.SUCCEEDED
    assert (job.imported_rows, job.processed_rows, job.percent) == (300, 300, 100)
    assert seen[:6] == [50, 100, 150, 200, 250, 300]
    assert Customer.objects.count() == 300


def test_export_of_a_filtered_list_writes_matching_rows(make_user, gender):
    user = make_user("bo", "backoffice")
    create_customer(
        name="金卡甲",
        phones=["13800138000"],
        vip_level=VipLevel.GOLD,
        custom_fields={"gender": "女"},
    )
    create_customer(
        name="金卡乙",
        phones=["13900139000"],
        vip_level=VipLevel.GOLD,
        custom_fields={"gender": "男"},
    )
    create_customer(name="普通丙", phones=["13700137000"])
    job = jobs.create_export_job({"vip_level": ["gold"], "cf_gender": "女"}, by_user=user)
    job = jobs.start_export_job(job)
    assert job.status == JobStatus.SUCCEEDED
    sheet = load_workbook(io.BytesIO(job.result.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "电话号码")
    assert rows[0][-1] == "性别"
    assert [(row[0], row[1], row[-1]) for row in rows[1:]] == [("金卡甲", "+8613800138000", "女")]


def test_exported_file_imports_back(make_user, gender):
    user = make_user("bo", "backoffice")
    create_customer(name="甲", phones=["13800138000"], custom_fields={"gender": "女"})
    job = jobs.start_export_job(jobs.create_export_job({}, by_user=user))
    content = job.result.read()
    CustomerPhone.objects.all().delete()
    Customer.objects.all().delete()
    result = import_customers(io.BytesIO(content))
    assert (result.imported, result.errors) == (1, [])
    assert Customer.objects.get().custom_fields == {"gender": "女"}
