-- Accounts to clean up: enabled but unused for var m365_inactive_days (stale; never used and older than
-- that counts too), and disabled but still holding licences (paid seats nobody can use).
{%- set days = var('m365_inactive_days', 90) %}

with users as (
    select
        *,
        coalesce(account_enabled, false) and days_inactive >= {{ days | int }} as is_stale,
        not coalesce(account_enabled, true) and license_count > 0 as is_disabled_but_licensed
    from {{ ref('int_m365__user_activity') }}
)

select
    tenant_id,
    user_id,
    user_principal_name,
    display_name,
    user_type,
    is_guest,
    account_enabled,
    created_date_time,
    license_count,
    sku_part_numbers,
    last_successful_sign_in_date_time,
    last_activity_date_time,
    last_activity_date_time is null as never_active,
    days_inactive,
    is_stale,
    is_disabled_but_licensed,
    case when is_disabled_but_licensed then 'disabled_but_licensed' else 'stale' end as reason
from users
where is_stale or is_disabled_but_licensed
