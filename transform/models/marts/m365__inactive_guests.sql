-- Guests (userType Guest or an #EXT# UPN) without activity for var m365_inactive_days (default 90) days,
-- counted from the invitation when they never signed in; with the invited address parsed from the UPN.
{%- set days = var('m365_inactive_days', 90) %}

select
    tenant_id,
    user_id,
    user_principal_name,
    display_name,
    guest_external_address,
    guest_external_domain,
    external_user_state,
    account_enabled,
    created_date_time,
    license_count,
    last_successful_sign_in_date_time,
    last_activity_date_time,
    last_activity_date_time is null as never_active,
    days_inactive,
    {{ days | int }} as inactive_days_threshold
from {{ ref('int_m365__user_activity') }}
where is_guest
    and days_inactive >= {{ days | int }}
