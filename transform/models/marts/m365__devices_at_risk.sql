-- Devices that are non-compliant (Intune complianceState noncompliant / inGracePeriod / conflict / error,
-- or Entra isCompliant false where Intune does not manage the device) or stale (not seen, by Intune sync
-- or Entra sign-in, for var m365_stale_device_days, default 90), with their owners: Entra registered
-- owners and Intune's primary user.
{%- set days = var('m365_stale_device_days', 90) %}

with devices as (
    select * from {{ ref('stg_m365__devices') }}
),

managed as (
    select * from {{ ref('stg_m365__managed_devices') }}
),

owners as (
    select
        o.tenant_id,
        o.device_id,
        {{ m365_agg_list('coalesce(o.user_principal_name, u.user_principal_name, o.owner_id)') }} as owner_user_principal_names,
        {{ m365_agg_list('o.owner_id') }} as owner_ids,
        count(distinct o.owner_id) as owner_count
    from {{ ref('stg_m365__device_owners') }} as o
    left join {{ ref('stg_m365__users') }} as u
        on o.tenant_id = u.tenant_id and o.owner_id = u.user_id
    group by o.tenant_id, o.device_id
),

both_sides as (
    select
        coalesce(d.tenant_id, m.tenant_id) as tenant_id,
        d.device_id,
        m.managed_device_id,
        coalesce(d.azure_ad_device_id, m.azure_ad_device_id) as azure_ad_device_id,
        coalesce(d.display_name, m.device_name) as display_name,
        coalesce(m.operating_system, d.operating_system) as operating_system,
        coalesce(m.os_version, d.operating_system_version) as operating_system_version,
        coalesce(d.manufacturer, m.manufacturer) as manufacturer,
        coalesce(d.model, m.model) as model,
        d.trust_type,
        d.account_enabled,
        d.is_managed,
        d.is_compliant,
        m.compliance_state,
        m.managed_device_owner_type,
        m.is_encrypted,
        m.user_principal_name as primary_user_principal_name,
        m.user_id as primary_user_id,
        d.approximate_last_sign_in_date_time,
        m.last_sync_date_time,
        coalesce(d.registration_date_time, m.enrolled_date_time) as registered_date_time
    from devices as d
    full outer join managed as m
        on d.tenant_id = m.tenant_id and d.azure_ad_device_id = m.azure_ad_device_id
),

flagged as (
    select
        b.*,
        {{ m365_greatest(['b.last_sync_date_time', 'b.approximate_last_sign_in_date_time']) }} as last_seen_date_time,
        case
            when b.managed_device_id is not null
                then coalesce(b.compliance_state in ('noncompliant', 'inGracePeriod', 'conflict', 'error'), false)
            else coalesce(not b.is_compliant, false)
        end as is_noncompliant
    from both_sides as b
),

measured as (
    select
        *,
        {{ m365_days_between('coalesce(last_seen_date_time, registered_date_time)', m365_as_of()) }} as days_since_last_seen
    from flagged
)

select
    measured.tenant_id,
    coalesce(measured.device_id, measured.managed_device_id) as device_key,
    measured.device_id,
    measured.managed_device_id,
    measured.azure_ad_device_id,
    measured.display_name,
    measured.operating_system,
    measured.operating_system_version,
    measured.manufacturer,
    measured.model,
    measured.trust_type,
    measured.account_enabled,
    measured.is_managed,
    measured.is_compliant,
    measured.compliance_state,
    measured.managed_device_owner_type,
    measured.is_encrypted,
    measured.is_noncompliant,
    coalesce(measured.days_since_last_seen >= {{ days | int }}, true) as is_stale,
    measured.last_seen_date_time,
    measured.days_since_last_seen,
    measured.primary_user_principal_name,
    owners.owner_user_principal_names,
    owners.owner_ids,
    coalesce(owners.owner_count, 0) as owner_count
from measured
left join owners
    on measured.tenant_id = owners.tenant_id and measured.device_id = owners.device_id
where measured.is_noncompliant
    or coalesce(measured.days_since_last_seen >= {{ days | int }}, true)
