-- Commercial subscriptions (Graph's companySubscription): one per purchase or trial of a SKU, with its
-- status, seat count and when its status changes next (renewal, expiry). Empty when not loaded.
with source as (
    {{ m365_optional_source('subscriptions', {
        'tenant_id': 'text', 'id': 'text', 'commerceSubscriptionId': 'text', 'skuId': 'text',
        'skuPartNumber': 'text', 'status': 'text', 'isTrial': 'bool', 'totalLicenses': 'int',
        'createdDateTime': 'timestamp', 'nextLifecycleDateTime': 'timestamp', 'ownerId': 'text',
        'ownerTenantId': 'text', 'ownerType': 'text', 'serviceStatus': 'json_array'}) }}
)

select
    tenant_id,
    id as subscription_id,
    "commerceSubscriptionId" as commerce_subscription_id,
    "skuId" as sku_id,
    "skuPartNumber" as sku_part_number,
    status,
    "isTrial" as is_trial,
    cast("totalLicenses" as bigint) as total_licenses,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_timestamp('"nextLifecycleDateTime"') }} as next_lifecycle_date_time,
    "ownerId" as owner_id,
    "ownerTenantId" as owner_tenant_id,
    "ownerType" as owner_type,
    {{ m365_json_length('"serviceStatus"') }} as service_plan_count
from source
