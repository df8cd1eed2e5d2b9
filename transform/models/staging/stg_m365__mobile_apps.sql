-- Apps Intune manages (empty on a tenant without Intune); app_type from @odata.type (win32LobApp ...).
with source as (
    {{ m365_optional_source('mobile_apps', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'app_type': 'text',
        'description': 'text', 'publisher': 'text', 'developer': 'text', 'owner': 'text',
        'publishingState': 'text', 'isFeatured': 'bool', 'informationUrl': 'text',
        'privacyInformationUrl': 'text', 'createdDateTime': 'timestamp',
        'lastModifiedDateTime': 'timestamp'}) }}
)

select
    tenant_id,
    id as mobile_app_id,
    "displayName" as display_name,
    app_type,
    description,
    publisher,
    developer,
    owner,
    "publishingState" as publishing_state,
    "isFeatured" as is_featured,
    "informationUrl" as information_url,
    "privacyInformationUrl" as privacy_information_url,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_timestamp('"lastModifiedDateTime"') }} as last_modified_date_time
from source
