-- applications.requiredResourceAccess flattened: one row per permission an app registration asks for
-- (type Role = application permission, Scope = delegated). Asked for is not granted: see m365__app_permissions.
with applications as (
    {{ m365_live_source('applications') }}
),

resources as (
    select tenant_id, id as application_id, "appId" as app_id,
        {{ m365_json_elements('"requiredResourceAccess"') }} as resource
    from applications
),

accesses as (
    select tenant_id, application_id, app_id,
        {{ m365_json_text('resource', 'resourceAppId') }} as resource_app_id,
        {{ m365_json_elements(m365_json_path('resource', 'resourceAccess')) }} as access
    from resources
)

select
    tenant_id,
    application_id,
    app_id,
    resource_app_id,
    {{ m365_json_text('access', 'id') }} as permission_id,
    {{ m365_json_text('access', 'type') }} as permission_type
from accesses
