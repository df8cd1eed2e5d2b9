-- service_principals.appRoles flattened: the permissions (app roles) each resource publishes, to resolve
-- appRoleAssignment.appRoleId to a name.
with service_principals as (
    {{ m365_live_source('service_principals') }}
),

roles as (
    select tenant_id, id as service_principal_id, "appId" as app_id, "displayName" as service_principal_display_name,
        {{ m365_json_elements('"appRoles"') }} as app_role
    from service_principals
)

select
    tenant_id,
    service_principal_id,
    app_id,
    service_principal_display_name,
    {{ m365_json_text('app_role', 'id') }} as app_role_id,
    {{ m365_json_text('app_role', 'value') }} as value,
    {{ m365_json_text('app_role', 'displayName') }} as display_name,
    {{ m365_json_text('app_role', 'description') }} as description,
    cast({{ m365_json_text('app_role', 'isEnabled') }} as boolean) as is_enabled,
    {{ m365_json_text('app_role', 'origin') }} as origin,
    {{ m365_string_list(m365_json_path('app_role', 'allowedMemberTypes')) }} as allowed_member_types
from roles
