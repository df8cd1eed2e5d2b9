-- subscribed_skus.servicePlans flattened: one row per (SKU, service plan).
with skus as (
    {{ m365_live_source('subscribed_skus') }}
),

plans as (
    select
        tenant_id,
        "skuId" as sku_id,
        "skuPartNumber" as sku_part_number,
        {{ m365_json_elements('"servicePlans"') }} as plan
    from skus
)

select
    tenant_id,
    sku_id,
    sku_part_number,
    {{ m365_json_text('plan', 'servicePlanId') }} as service_plan_id,
    {{ m365_json_text('plan', 'servicePlanName') }} as service_plan_name,
    {{ m365_json_text('plan', 'provisioningStatus') }} as provisioning_status,
    {{ m365_json_text('plan', 'appliesTo') }} as applies_to
from plans
