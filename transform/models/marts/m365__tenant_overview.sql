-- One row per tenant with the headline figures of the other marts (the demo prints them, the report
-- opens with them).
with tenants as (
    select tenant_id, display_name as tenant_display_name from {{ ref('stg_m365__organization') }}
),

users as (
    select
        tenant_id,
        count(*) as users,
        sum(case when is_guest then 1 else 0 end) as guests,
        sum(case when license_count > 0 then 1 else 0 end) as licensed_users
    from {{ ref('int_m365__user_activity') }}
    group by tenant_id
),

skus as (
    select tenant_id, sum(prepaid_units) as prepaid_units, sum(consumed_units) as consumed_units,
        sum(assigned_users) as assigned_licenses, sum(active_30d_users) as assigned_licenses_active_30d
    from {{ ref('m365__sku_license_usage') }}
    group by tenant_id
),

inactive as (
    select tenant_id, count(*) as inactive_licensed_users
    from {{ ref('m365__inactive_licensed_users') }} group by tenant_id
),

stale as (
    select tenant_id,
        sum(case when is_stale then 1 else 0 end) as stale_accounts,
        sum(case when is_disabled_but_licensed then 1 else 0 end) as disabled_licensed_accounts
    from {{ ref('m365__stale_accounts') }} group by tenant_id
),

guests as (
    select tenant_id, count(*) as inactive_guests from {{ ref('m365__inactive_guests') }} group by tenant_id
),

devices as (
    select tenant_id,
        sum(case when is_noncompliant then 1 else 0 end) as noncompliant_devices,
        sum(case when is_stale then 1 else 0 end) as stale_devices
    from {{ ref('m365__devices_at_risk') }} group by tenant_id
),

admins as (
    select tenant_id,
        -- active holders (PIM-eligible ones apart)
        count(distinct case when not is_eligible then member_id end) as admin_role_holders,
        count(distinct case when is_privileged_role and not is_eligible then member_id end)
            as privileged_role_holders,
        count(distinct case when is_eligible then member_id end) as eligible_admin_role_holders,
        -- null when user_registration_details is not loaded
        case when max(case when has_registration_details then 1 else 0 end) = 1 then
            count(distinct case when member_type = 'user' and has_registration_details and not is_eligible
                and not coalesce(is_mfa_registered, false) then member_id end) end as admins_without_mfa
    from {{ ref('m365__admin_role_holders') }} group by tenant_id
),

permissions as (
    select tenant_id,
        count(*) as permissions_granted,
        sum(case when is_high_privilege then 1 else 0 end) as high_privilege_permissions
    from {{ ref('m365__app_permissions') }} group by tenant_id
),

credentials as (
    select tenant_id, count(*) as credentials_expiring
    from {{ ref('m365__expiring_app_credentials') }} group by tenant_id
),

sign_ins as (
    select tenant_id, sum(sign_in_count) as sign_ins, sum(failure_count) as failed_sign_ins
    from {{ ref('m365__app_sign_ins') }} group by tenant_id
)

select
    tenants.tenant_id,
    tenants.tenant_display_name,
    coalesce(users.users, 0) as users,
    coalesce(users.guests, 0) as guests,
    coalesce(users.licensed_users, 0) as licensed_users,
    coalesce(skus.prepaid_units, 0) as prepaid_units,
    coalesce(skus.consumed_units, 0) as consumed_units,
    coalesce(skus.assigned_licenses, 0) as assigned_licenses,
    coalesce(skus.assigned_licenses_active_30d, 0) as assigned_licenses_active_30d,
    coalesce(inactive.inactive_licensed_users, 0) as inactive_licensed_users,
    coalesce(stale.stale_accounts, 0) as stale_accounts,
    coalesce(stale.disabled_licensed_accounts, 0) as disabled_licensed_accounts,
    coalesce(guests.inactive_guests, 0) as inactive_guests,
    coalesce(devices.noncompliant_devices, 0) as noncompliant_devices,
    coalesce(devices.stale_devices, 0) as stale_devices,
    coalesce(admins.admin_role_holders, 0) as admin_role_holders,
    coalesce(admins.privileged_role_holders, 0) as privileged_role_holders,
    coalesce(admins.eligible_admin_role_holders, 0) as eligible_admin_role_holders,
    admins.admins_without_mfa,
    coalesce(permissions.permissions_granted, 0) as permissions_granted,
    coalesce(permissions.high_privilege_permissions, 0) as high_privilege_permissions,
    coalesce(credentials.credentials_expiring, 0) as credentials_expiring,
    coalesce(sign_ins.sign_ins, 0) as sign_ins_window,
    coalesce(sign_ins.failed_sign_ins, 0) as failed_sign_ins_window
from tenants
left join users on tenants.tenant_id = users.tenant_id
left join skus on tenants.tenant_id = skus.tenant_id
left join inactive on tenants.tenant_id = inactive.tenant_id
left join stale on tenants.tenant_id = stale.tenant_id
left join guests on tenants.tenant_id = guests.tenant_id
left join devices on tenants.tenant_id = devices.tenant_id
left join admins on tenants.tenant_id = admins.tenant_id
left join permissions on tenants.tenant_id = permissions.tenant_id
left join credentials on tenants.tenant_id = credentials.tenant_id
left join sign_ins on tenants.tenant_id = sign_ins.tenant_id
