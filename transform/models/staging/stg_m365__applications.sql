-- App registrations, live ones (credentials: stg_m365__application_credentials; requested permissions:
-- stg_m365__application_required_permissions).
with source as (
    {{ m365_live_source('applications') }}
)

select
    tenant_id,
    id as application_id,
    "appId" as app_id,
    "displayName" as display_name,
    description,
    "signInAudience" as sign_in_audience,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    "publisherDomain" as publisher_domain,
    {{ m365_string_list('"identifierUris"') }} as identifier_uris,
    {{ m365_string_list('"tags"') }} as tags,
    {{ m365_json_length('"passwordCredentials"') }} as password_credential_count,
    {{ m365_json_length('"keyCredentials"') }} as key_credential_count
from source
