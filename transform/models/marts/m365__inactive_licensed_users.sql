-- Licensed users with no activity for var m365_inactive_days (default 90) days: no successful sign-in
-- (signInActivity) and no Microsoft 365 activity in the usage report (where it names users), counted from
-- the account's creation when there was never any. With the SKUs they hold.
{%- set days = var('m365_inactive_days', 90) %}

select
    tenant_id,
    user_id,
    user_principal_name,
    display_name,
    user_type,
    account_enabled,
    department,
    created_date_time,
    license_count,
    sku_part_numbers,
    last_successful_sign_in_date_time,
    last_usage_activity_date,
    last_activity_date_time,
    last_activity_source,
    last_activity_date_time is null as never_active,
    days_since_last_activity,
    days_inactive,
    {{ days | int }} as inactive_days_threshold
from {{ ref('int_m365__user_activity') }}
where license_count > 0
    and days_inactive >= {{ days | int }}
