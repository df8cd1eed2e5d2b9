-- One row per (user, assigned SKU), with the SKU's part number and the plans switched off.
with source as (
    {{ m365_live_source('user_licenses') }}
)

select
    tenant_id,
    user_id,
    "userPrincipalName" as user_principal_name,
    "skuId" as sku_id,
    "skuPartNumber" as sku_part_number,
    {{ m365_string_list('"disabledPlans"') }} as disabled_plan_ids,
    {{ m365_json_length('"disabledPlans"') }} as disabled_plan_count
from source
