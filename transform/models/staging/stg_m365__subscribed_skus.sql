-- One row per subscribed SKU, with its prepaid units as columns.
with source as (
    {{ m365_live_source('subscribed_skus') }}
)

select
    tenant_id,
    id as subscribed_sku_id,
    "skuId" as sku_id,
    "skuPartNumber" as sku_part_number,
    "accountId" as account_id,
    "accountName" as account_name,
    "appliesTo" as applies_to,
    "capabilityStatus" as capability_status,
    cast("consumedUnits" as bigint) as consumed_units,
    cast({{ m365_json_text('"prepaidUnits"', 'enabled') }} as bigint) as prepaid_enabled_units,
    cast({{ m365_json_text('"prepaidUnits"', 'suspended') }} as bigint) as prepaid_suspended_units,
    cast({{ m365_json_text('"prepaidUnits"', 'warning') }} as bigint) as prepaid_warning_units,
    cast({{ m365_json_text('"prepaidUnits"', 'lockedOut') }} as bigint) as prepaid_locked_out_units,
    {{ m365_json_length('"servicePlans"') }} as service_plan_count,
    {{ m365_string_list('"subscriptionIds"') }} as subscription_ids
from source
