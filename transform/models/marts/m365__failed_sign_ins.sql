-- Failed interactive sign-ins over the last var m365_sign_in_days (default 30) days by user, app and
-- country, with the error codes seen (50126 wrong password, 50053 locked, 53003 blocked by Conditional
-- Access ...).
{%- set days = var('m365_sign_in_days', 30) %}

with failures as (
    select * from {{ ref('stg_m365__sign_ins') }}
    where not is_success
        and created_date_time >= {{ m365_days_before(m365_as_of(), days) }}
        and created_date_time <= {{ m365_as_of() }}
)

select
    tenant_id,
    coalesce(user_id, '') || ':' || coalesce(app_id, '') || ':' || coalesce(location_country_or_region, '')
        as failure_key,
    user_id,
    max(user_principal_name) as user_principal_name,
    app_id,
    max(app_display_name) as app_display_name,
    location_country_or_region as country_or_region,
    count(*) as failed_count,
    {{ m365_agg_list("cast(status_error_code as " ~ dbt.type_string() ~ ")") }} as error_codes,
    min(created_date_time) as first_failed_date_time,
    max(created_date_time) as last_failed_date_time,
    {{ days | int }} as window_days
from failures
group by tenant_id, user_id, app_id, location_country_or_region
