"""Who may create, issue and redeem coupons (django-rules).

Every staff member reads batches and issues or redeems coupons at the desk; back-office staff
and admins create batches; admins delete.
"""

import rules

from accounts.rules import is_admin, is_backoffice, is_staff_member, is_supervisor

rules.add_perm("coupons", is_admin)
rules.add_perm("coupons.view_couponbatch", is_staff_member)
rules.add_perm("coupons.add_couponbatch", is_admin | is_backoffice)
rules.add_perm("coupons.change_couponbatch", is_admin | is_backoffice)
rules.add_perm("coupons.delete_couponbatch", is_admin)
rules.add_perm("coupons.view_coupon", is_staff_member)
rules.add_perm("coupons.add_coupon", is_admin)
rules.add_perm("coupons.change_coupon", is_admin)
rules.add_perm("coupons.delete_coupon", is_admin)
rules.add_perm("coupons.issue_coupon", is_staff_member)
rules.add_perm("coupons.redeem_coupon", is_staff_member)
rules.add_perm("coupons.view_report", is_admin | is_supervisor | is_backoffice)
