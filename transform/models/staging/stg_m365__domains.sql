with source as (
    {{ m365_live_source('domains') }}
)

select
    tenant_id,
    id as domain_name,
    "authenticationType" as authentication_type,
    "availabilityStatus" as availability_status,
    "isAdminManaged" as is_admin_managed,
    "isDefault" as is_default,
    "isInitial" as is_initial,
    "isRoot" as is_root,
    "isVerified" as is_verified,
    {{ m365_string_list('"supportedServices"') }} as supported_services,
    cast("passwordValidityPeriodInDays" as bigint) as password_validity_period_in_days,
    cast("passwordNotificationWindowInDays" as bigint) as password_notification_window_in_days
from source
