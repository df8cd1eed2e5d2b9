-- Interactive sign-ins per app over the last var m365_sign_in_days (default 30) days: how often, how many
-- failed, by how many users, from how many countries.
{%- set days = var('m365_sign_in_days', 30) %}

with sign_ins as (
    select * from {{ ref('stg_m365__sign_ins') }}
    where created_date_time >= {{ m365_days_before(m365_as_of(), days) }}
        and created_date_time <= {{ m365_as_of() }}
)

select
    tenant_id,
    coalesce(app_id, '') || ':' || coalesce(app_display_name, '') as app_key,
    app_id,
    app_display_name,
    count(*) as sign_in_count,
    sum(case when is_success then 1 else 0 end) as success_count,
    sum(case when is_success then 0 else 1 end) as failure_count,
    count(distinct user_id) as user_count,
    count(distinct location_country_or_region) as country_count,
    min(created_date_time) as first_sign_in_date_time,
    max(created_date_time) as last_sign_in_date_time,
    {{ days | int }} as window_days
from sign_ins
group by tenant_id, app_id, app_display_name
