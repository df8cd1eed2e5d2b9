-- App registration secrets and certificates whose end date falls within var m365_credential_expiry_days
-- (default 30) from now: renew them before the apps stop signing in (AADSTS7000222).
{%- set days = var('m365_credential_expiry_days', 30) %}

select
    tenant_id,
    application_id,
    app_id,
    application_display_name,
    credential_type,
    key_id,
    display_name as credential_display_name,
    hint,
    start_date_time,
    end_date_time,
    {{ m365_days_between(m365_as_of(), 'end_date_time') }} as days_until_expiry
from {{ ref('stg_m365__application_credentials') }}
where end_date_time >= {{ m365_as_of() }}
    and end_date_time < {{ m365_days_after(m365_as_of(), days) }}
