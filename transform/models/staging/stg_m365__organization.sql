-- The tenant itself (one row per tenant).
with source as (
    {{ m365_live_source('organization') }}
)

select
    tenant_id,
    id as organization_id,
    "displayName" as display_name,
    "tenantType" as tenant_type,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    "countryLetterCode" as country_letter_code,
    "preferredLanguage" as preferred_language,
    city,
    state,
    street,
    "postalCode" as postal_code,
    {{ m365_string_list('"businessPhones"') }} as business_phones,
    {{ m365_string_list('"technicalNotificationMails"') }} as technical_notification_mails,
    {{ m365_string_list('"securityComplianceNotificationMails"') }} as security_compliance_notification_mails,
    {{ m365_string_list('"marketingNotificationEmails"') }} as marketing_notification_emails,
    "onPremisesSyncEnabled" as on_premises_sync_enabled,
    {{ m365_timestamp('"onPremisesLastSyncDateTime"') }} as on_premises_last_sync_date_time,
    {{ m365_json_length('"verifiedDomains"') }} as verified_domain_count,
    {{ m365_json_length('"assignedPlans"') }} as assigned_plan_count
from source
