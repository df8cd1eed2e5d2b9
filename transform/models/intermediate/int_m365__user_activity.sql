-- One row per live user: licences, last sign-ins (signInActivity) and last Microsoft 365 activity
-- (usage report, only where the report names users: names_concealed false), and the newest of them.
-- A user's inactivity is measured from that last activity, else from the account's creation.
with users as (
    select * from {{ ref('stg_m365__users') }}
),

licenses as (
    select
        tenant_id,
        user_id,
        count(*) as license_count,
        {{ m365_agg_list('sku_part_number') }} as sku_part_numbers
    from {{ ref('stg_m365__user_licenses') }}
    where is_assigned
    group by tenant_id, user_id
),

sign_in_activity as (
    select * from {{ ref('stg_m365__user_sign_in_activity') }}
),

usage_latest as (
    select tenant_id, user_principal_name_lower, max(report_date) as report_date
    from {{ ref('stg_m365__usage_office365_active_user_detail') }}
    where not names_concealed
    group by tenant_id, user_principal_name_lower
),

usage as (
    select u.tenant_id, u.user_principal_name_lower, max(u.last_activity_date) as last_activity_date
    from {{ ref('stg_m365__usage_office365_active_user_detail') }} as u
    inner join usage_latest as l
        on u.tenant_id = l.tenant_id
        and u.user_principal_name_lower = l.user_principal_name_lower
        and u.report_date = l.report_date
    where not u.names_concealed
    group by u.tenant_id, u.user_principal_name_lower
),

joined as (
    select
        users.tenant_id,
        users.user_id,
        users.user_principal_name,
        users.display_name,
        users.mail,
        users.user_type,
        users.is_guest,
        users.guest_external_address,
        users.guest_external_domain,
        users.external_user_state,
        users.account_enabled,
        users.department,
        users.job_title,
        users.created_date_time,
        coalesce(licenses.license_count, 0) as license_count,
        licenses.sku_part_numbers,
        sign_in_activity.user_id is not null as has_sign_in_activity,
        sign_in_activity.last_sign_in_date_time,
        sign_in_activity.last_successful_sign_in_date_time,
        sign_in_activity.last_non_interactive_sign_in_date_time,
        usage.last_activity_date as last_usage_activity_date,
        {{ m365_date_to_timestamp('usage.last_activity_date') }} as last_usage_activity_date_time
    from users
    left join licenses
        on users.tenant_id = licenses.tenant_id and users.user_id = licenses.user_id
    left join sign_in_activity
        on users.tenant_id = sign_in_activity.tenant_id and users.user_id = sign_in_activity.user_id
    left join usage
        on users.tenant_id = usage.tenant_id
        and users.user_principal_name_lower = usage.user_principal_name_lower
),

activity as (
    select
        *,
        {{ m365_greatest(['last_successful_sign_in_date_time', 'last_usage_activity_date_time']) }}
            as last_activity_date_time
    from joined
)

select
    *,
    case
        when last_activity_date_time is null then null
        when last_successful_sign_in_date_time is not null
            and (last_usage_activity_date_time is null
                 or last_successful_sign_in_date_time >= last_usage_activity_date_time) then 'sign_in'
        else 'usage_report'
    end as last_activity_source,
    {{ m365_days_between('last_activity_date_time', m365_as_of()) }} as days_since_last_activity,
    {{ m365_days_between('coalesce(last_activity_date_time, created_date_time)', m365_as_of()) }}
        as days_inactive
from activity
