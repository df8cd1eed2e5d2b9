-- Licence utilisation per SKU: bought (prepaid), consumed, assigned to live users, and how many of those
-- users were active (successful sign-in, or usage-report activity) in the last 30 and 90 days; and, when
-- the subscriptions stream is loaded, whether the SKU is a trial and when its subscriptions next change
-- status (renewal, expiry: next_lifecycle_at).
with skus as (
    select * from {{ ref('stg_m365__subscribed_skus') }}
),

assigned as (
    select
        l.tenant_id,
        l.sku_id,
        count(distinct l.user_id) as assigned_users,
        count(distinct case when u.account_enabled then l.user_id end) as assigned_enabled_users,
        count(distinct case when not u.account_enabled then l.user_id end) as assigned_disabled_users,
        count(distinct case when u.last_activity_date_time >= {{ m365_days_before(m365_as_of(), 30) }}
            then l.user_id end) as active_30d_users,
        count(distinct case when u.last_activity_date_time >= {{ m365_days_before(m365_as_of(), 90) }}
            then l.user_id end) as active_90d_users
    from {{ ref('stg_m365__user_licenses') }} as l
    inner join {{ ref('int_m365__user_activity') }} as u
        on l.tenant_id = u.tenant_id and l.user_id = u.user_id
    where l.is_assigned
    group by l.tenant_id, l.sku_id
),

subscriptions as (
    select
        tenant_id,
        sku_id,
        count(*) as subscription_count,
        sum(case when is_trial then 1 else 0 end) as trial_subscription_count,
        min(next_lifecycle_date_time) as next_lifecycle_at
    from {{ ref('stg_m365__subscriptions') }}
    where coalesce(status, '') <> 'Deleted'
    group by tenant_id, sku_id
),

errors as (
    select tenant_id, sku_id, count(distinct user_id) as assignment_error_users
    from {{ ref('stg_m365__user_licenses') }}
    where not is_assigned
    group by tenant_id, sku_id
)

select
    skus.tenant_id,
    skus.sku_id,
    skus.sku_part_number,
    skus.capability_status,
    skus.applies_to,
    coalesce(skus.prepaid_enabled_units, 0) as prepaid_units,
    coalesce(skus.prepaid_suspended_units, 0) as suspended_units,
    coalesce(skus.prepaid_warning_units, 0) as warning_units,
    coalesce(skus.consumed_units, 0) as consumed_units,
    coalesce(skus.prepaid_enabled_units, 0) - coalesce(skus.consumed_units, 0) as available_units,
    coalesce(assigned.assigned_users, 0) as assigned_users,
    coalesce(assigned.assigned_enabled_users, 0) as assigned_enabled_users,
    coalesce(assigned.assigned_disabled_users, 0) as assigned_disabled_users,
    coalesce(assigned.active_30d_users, 0) as active_30d_users,
    coalesce(assigned.active_90d_users, 0) as active_90d_users,
    coalesce(assigned.assigned_users, 0) - coalesce(assigned.active_90d_users, 0) as inactive_90d_users,
    -- group-based assignments that failed (licenseAssignmentStates Error: no seat left, conflicting plans)
    coalesce(errors.assignment_error_users, 0) as assignment_error_users,
    case when coalesce(skus.prepaid_enabled_units, 0) > 0
        then round(cast(100.0 * skus.consumed_units / skus.prepaid_enabled_units as numeric), 1) end
        as consumed_pct,
    case when coalesce(assigned.assigned_users, 0) > 0
        then round(cast(100.0 * assigned.active_30d_users / assigned.assigned_users as numeric), 1) end
        as active_30d_pct,
    -- null when subscriptions is not loaded (or lists no live subscription of the SKU)
    subscriptions.subscription_count,
    subscriptions.trial_subscription_count,
    case when subscriptions.subscription_count > 0
        then subscriptions.trial_subscription_count = subscriptions.subscription_count end as is_trial,
    subscriptions.next_lifecycle_at,
    {{ m365_days_between(m365_as_of(), 'subscriptions.next_lifecycle_at') }} as days_until_next_lifecycle
from skus
left join assigned
    on skus.tenant_id = assigned.tenant_id and skus.sku_id = assigned.sku_id
left join errors
    on skus.tenant_id = errors.tenant_id and skus.sku_id = errors.sku_id
left join subscriptions
    on skus.tenant_id = subscriptions.tenant_id and skus.sku_id = subscriptions.sku_id
