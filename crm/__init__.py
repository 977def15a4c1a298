"""Business side of the call center: customers, service records, coupons, work orders, knowledge.

`crm` itself is installed as an app only so its management commands (seed_crm_demo) are found;
every business concept is its own app below it.
"""
