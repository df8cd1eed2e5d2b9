-- Who signed in from where and how often: interactive sign-ins over the last var m365_sign_in_days
-- (default 30) days per user, country and city.
{%- set days = var('m365_sign_in_days', 30) %}

with sign_ins as (
    select * from {{ ref('stg_m365__sign_ins') }}
    where created_date_time >= {{ m365_days_before(m365_as_of(), days) }}
        and created_date_time <= {{ m365_as_of() }}
)

select
    tenant_id,
    coalesce(user_id, '') || ':' || coalesce(location_country_or_region, '') || ':' || coalesce(location_city, '')
        as location_key,
    user_id,
    max(user_principal_name) as user_principal_name,
    location_country_or_region as country_or_region,
    location_city as city,
    count(*) as sign_in_count,
    sum(case when is_success then 0 else 1 end) as failure_count,
    count(distinct ip_address) as ip_address_count,
    max(created_date_time) as last_sign_in_date_time,
    {{ days | int }} as window_days
from sign_ins
group by tenant_id, user_id, location_country_or_region, location_city
